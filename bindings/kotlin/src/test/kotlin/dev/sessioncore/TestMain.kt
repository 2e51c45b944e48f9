package dev.sessioncore

import java.io.File
import java.util.jar.JarFile
import kotlin.system.exitProcess
import org.junit.Test
import org.junit.runner.Description
import org.junit.runner.JUnitCore
import org.junit.runner.notification.Failure
import org.junit.runner.notification.RunListener

/**
 * Every top-level class named `*Test` with `@Test` methods in the tests' jar (or directory), and
 * in the jars listed in the system property `sessioncore.testJars` (path-separated; the Compose
 * module's tests), so a new test class cannot be forgotten here.
 */
fun testClasses(): List<Class<*>> {
    val extra = System.getProperty("sessioncore.testJars").orEmpty().split(File.pathSeparator).filter { it.isNotEmpty() }
    val locations = listOf(File(FfiTest::class.java.protectionDomain.codeSource.location.toURI())) + extra.map(::File)
    val entries = locations.flatMap { location ->
        check(location.exists()) { "no test classes at $location" }
        if (location.isFile) {
            JarFile(location).use { jar -> jar.entries().asSequence().map { it.name }.toList() }
        } else {
            location.walk().filter { it.isFile }.map { it.relativeTo(location).invariantSeparatorsPath }.toList()
        }
    }
    return entries
        .filter { it.endsWith("Test.class") && '$' !in it }
        .sorted()
        .map { Class.forName(it.removeSuffix(".class").replace('/', '.')) }
        .filter { type -> type.methods.any { it.isAnnotationPresent(Test::class.java) } }
}

/**
 * Runs every test class with JUnit 4, prints each failure, then exactly one summary line
 * `N passed, N failed` (the line CI's log reader looks for), and exits non-zero on any failure.
 */
fun main() {
    val core = JUnitCore()
    var started = 0
    val failures = mutableListOf<Failure>()
    core.addListener(
        object : RunListener() {
            override fun testStarted(description: Description) {
                started++
            }

            override fun testFinished(description: Description) {
                val failed = failures.any { it.description == description }
                println("${if (failed) "FAIL" else "ok  "} ${description.testClass.simpleName}.${description.methodName}")
            }

            override fun testFailure(failure: Failure) {
                failures += failure
            }

            override fun testAssumptionFailure(failure: Failure) {
                failures += failure
            }
        },
    )
    val classes = testClasses()
    check(classes.isNotEmpty()) { "no test classes found" }
    val result = core.run(*classes.toTypedArray())
    for (failure in failures) {
        println()
        println("FAILED: ${failure.testHeader}")
        println(failure.trace.trimEnd())
    }
    // A test fails once however many failures it reports; a class-level failure (for example
    // in a @BeforeClass) has no test of its own and counts as one failure.
    val failedTests = failures.filter { it.description.methodName != null }.map { it.description }.distinct().size
    val classFailures = failures.count { it.description.methodName == null }
    val failed = failedTests + classFailures
    val passed = started - failedTests
    println()
    println("$passed passed, $failed failed")
    System.out.flush()
    // exitProcess: Rust runtime threads and JNA callback threads must not keep the JVM alive.
    exitProcess(if (failed == 0 && result.wasSuccessful()) 0 else 1)
}
