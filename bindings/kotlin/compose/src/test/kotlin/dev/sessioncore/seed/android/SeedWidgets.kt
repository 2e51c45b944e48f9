// TEST-ONLY STAND-INS for Compose UI widgets (Column, Text, Button, LazyColumn, TextField,
// rememberTextFieldState, clearText), with the signatures the seed's Android snippet uses.
// They are not part of any shipped module: Compose for desktop's foundation/material were not
// wired into the build (they need Compose UI and Skiko, whose native runtime is not set up
// here), so these record what a screen would show and let the test click buttons. Only UI
// widgets are stood in: the session helpers (rememberSession, SessionScope, rememberAgent,
// rememberSessionMessages) and remember/LaunchedEffect/rememberCoroutineScope are the real ones,
// on the real Compose runtime.
package dev.sessioncore.seed.android

import androidx.compose.runtime.Composable
import androidx.compose.runtime.CompositionLocalProvider
import androidx.compose.runtime.RememberObserver
import androidx.compose.runtime.SideEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.runtime.staticCompositionLocalOf
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow

/**
 * What the stand-ins show, as the composition left it: each Text and Button is a slot kept while
 * its call is in the composition (so partial recompositions stay right), published after every
 * composition that touched one.
 */
class Screen {
    private val textSlots = mutableListOf<TextSlot>()
    private val buttonSlots = mutableListOf<ButtonSlot>()
    private val mutableTexts = MutableStateFlow(emptyList<String>())
    private val mutableButtons = MutableStateFlow(emptyMap<String, () -> Unit>())
    var textField: TextFieldState? = null

    /** The Texts outside buttons, in the order they entered the composition. */
    val texts: StateFlow<List<String>> get() = mutableTexts

    /** The buttons by label. */
    val buttons: StateFlow<Map<String, () -> Unit>> get() = mutableButtons

    internal fun add(slot: TextSlot) = synchronized(this) { textSlots += slot }

    internal fun remove(slot: TextSlot) = synchronized(this) { textSlots -= slot }

    internal fun add(slot: ButtonSlot) = synchronized(this) { buttonSlots += slot }

    internal fun remove(slot: ButtonSlot) = synchronized(this) { buttonSlots -= slot }

    internal fun publish() =
        synchronized(this) {
            mutableTexts.value = textSlots.map { it.text }
            mutableButtons.value = buttonSlots.associate { it.label to it.onClick }
        }
}

/** The screen the stand-ins write to (set by the test before composing). */
var screen: Screen = Screen()

internal class TextSlot : RememberObserver {
    var text = ""

    override fun onRemembered() = screen.add(this)

    override fun onForgotten() = screen.remove(this)

    override fun onAbandoned() = Unit
}

internal class ButtonSlot : RememberObserver {
    var label = ""
    var onClick: () -> Unit = {}

    override fun onRemembered() = screen.add(this)

    override fun onForgotten() = screen.remove(this)

    override fun onAbandoned() = Unit
}

private val LocalButton = staticCompositionLocalOf<ButtonSlot?> { null }

/** Stand-in for `androidx.compose.foundation.layout.Column`. */
@Composable
fun Column(content: @Composable () -> Unit) {
    content()
}

/** Stand-in for `androidx.compose.material3.Text`: inside a Button it is the button's label. */
@Composable
fun Text(text: String) {
    val button = LocalButton.current
    if (button != null) {
        button.label = text
    } else {
        val slot = remember { TextSlot() }
        slot.text = text
    }
    SideEffect { screen.publish() }
}

/** Stand-in for `androidx.compose.material3.Button`: records its label (the Text inside it) and [onClick]. */
@Composable
fun Button(onClick: () -> Unit, content: @Composable () -> Unit) {
    val slot = remember { ButtonSlot() }
    slot.onClick = onClick
    CompositionLocalProvider(LocalButton provides slot) { content() }
    SideEffect { screen.publish() }
}

/** Stand-in for `androidx.compose.foundation.lazy.LazyListScope`. */
class LazyListScope {
    internal val items = mutableListOf<@Composable () -> Unit>()

    fun <T> items(items: List<T>, itemContent: @Composable (item: T) -> Unit) {
        for (item in items) {
            val composable: @Composable () -> Unit = { itemContent(item) }
            this.items.add(composable)
        }
    }
}

/** Stand-in for `androidx.compose.foundation.lazy.LazyColumn`: composes every item. */
@Composable
fun LazyColumn(content: LazyListScope.() -> Unit) {
    val scope = LazyListScope().apply(content)
    for (item in scope.items) item()
}

/** Stand-in for `androidx.compose.foundation.text.input.TextFieldState`. */
class TextFieldState {
    var text: CharSequence by mutableStateOf("")
}

/** Stand-in for `androidx.compose.foundation.text.input.clearText`. */
fun TextFieldState.clearText() {
    text = ""
}

/** Stand-in for `androidx.compose.foundation.text.input.rememberTextFieldState`. */
@Composable
fun rememberTextFieldState(): TextFieldState = remember { TextFieldState() }

/** Stand-in for `androidx.compose.material3.TextField(state = …)`. */
@Composable
fun TextField(state: TextFieldState) {
    SideEffect { screen.textField = state }
}

/** Stand-in for `android.widget.Toast`: records the texts shown. */
class Toast private constructor(private val text: String) {
    fun show() {
        shown.value = shown.value + text
    }

    companion object {
        const val LENGTH_SHORT = 0
        val shown = MutableStateFlow(emptyList<String>())

        @Suppress("UNUSED_PARAMETER")
        fun makeText(context: Any?, text: String, duration: Int): Toast = Toast(text)
    }
}
