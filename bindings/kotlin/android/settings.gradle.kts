// The session-core Android library: the hand-written Kotlin wrappers (../src/main/kotlin), the
// release flavour of the generated bindings (../generated/release) and the Rust library built
// for Android with cargo-ndk. Needs the Android SDK + NDK, cargo-ndk and network access
// (Google Maven, Maven Central, and GitHub for libwebrtc). See ../README.md.
pluginManagement {
    val agpVersion: String by settings
    val kotlinVersion: String by settings
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
    plugins {
        id("com.android.library") version agpVersion
        id("org.jetbrains.kotlin.android") version kotlinVersion
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

// The AAR is named after the project: build/outputs/aar/session-core-release.aar.
rootProject.name = "session-core"
