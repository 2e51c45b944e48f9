import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
    `maven-publish`
}

/** The repository root (this module is bindings/kotlin/android). */
val repoRoot: File = rootDir.resolve("../../..").canonicalFile

/** The ABIs the AAR ships, as `jni/<abi>/libsession_ffi.so`. */
val abis = listOf("arm64-v8a", "armeabi-v7a", "x86_64")
val minSdkLevel = providers.gradleProperty("sessioncore.minSdk").get().toInt()
val jniLibsDir: File = file("src/main/jniLibs")

android {
    namespace = providers.gradleProperty("sessioncore.namespace").get()
    compileSdk = providers.gradleProperty("sessioncore.compileSdk").get().toInt()

    defaultConfig {
        minSdk = minSdkLevel
        // The same file scripts/package-aar ships as proguard.txt.
        consumerProguardFiles("consumer-rules.pro")
        ndk { abiFilters += abis }
    }

    sourceSets {
        getByName("main") {
            // The wrappers and the release flavour of the generated bindings (android = true).
            kotlin.srcDirs("../src/main/kotlin", "../generated/release")
            jniLibs.srcDirs(jniLibsDir)
        }
    }

    buildTypes {
        release {
            // A library is shrunk by the app that uses it (with consumer-rules.pro).
            isMinifyEnabled = false
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    publishing {
        singleVariant("release") { withSourcesJar() }
    }
}

kotlin {
    compilerOptions { jvmTarget.set(JvmTarget.JVM_17) }
}

dependencies {
    // JNA with its Android natives (libjnidispatch.so per ABI): the generated bindings call the
    // Rust library through it.
    implementation("net.java.dev.jna:jna:5.14.0@aar")
    // The public API exposes Flow and StateFlow.
    api("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.8.1")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.8.1")
    // @RequiresApi in the generated bindings (android = true).
    implementation("androidx.annotation:annotation:1.9.1")
}

/**
 * Builds libsession_ffi.so for every ABI into src/main/jniLibs/<abi>/ with the LiveKit transport.
 * Needs cargo-ndk (`cargo install cargo-ndk`), the Rust Android targets
 * (`rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android`) and
 * ANDROID_NDK_HOME.
 */
val cargoNdkBuild by tasks.registering(Exec::class) {
    group = "rust"
    description = "Builds libsession_ffi.so for $abis with cargo-ndk (release, feature livekit)."
    workingDir = repoRoot
    commandLine(
        listOf("cargo", "ndk") +
            abis.flatMap { listOf("-t", it) } +
            listOf("--platform", "$minSdkLevel", "-o", jniLibsDir.absolutePath) +
            listOf("build", "--release", "-p", "session-ffi", "--features", "livekit"),
    )
    inputs.files(
        fileTree(repoRoot.resolve("crates")) { exclude("**/target/**") },
        fileTree(repoRoot.resolve("bindings/ffi")),
        repoRoot.resolve("Cargo.toml"),
        repoRoot.resolve("Cargo.lock"),
    )
    outputs.dir(jniLibsDir)
}

/** Regenerates ../generated/release (the release flavour, android = true) from the Rust crate. */
val generateReleaseBindings by tasks.registering(Exec::class) {
    group = "rust"
    description = "Runs scripts/generate-bindings release."
    workingDir = repoRoot
    commandLine(repoRoot.resolve("scripts/generate-bindings").absolutePath, "release")
    inputs.files(
        fileTree(repoRoot.resolve("crates")) { exclude("**/target/**") },
        fileTree(repoRoot.resolve("bindings/ffi")),
        repoRoot.resolve("Cargo.lock"),
    )
    outputs.dir(file("../generated/release"))
}

tasks.named("preBuild") {
    dependsOn(cargoNdkBuild, generateReleaseBindings)
}

publishing {
    publications {
        register<MavenPublication>("release") {
            groupId = providers.gradleProperty("sessioncore.namespace").get()
            artifactId = "session-core"
            version = providers.gradleProperty("sessioncore.version").get()
            afterEvaluate { from(components["release"]) }
        }
    }
}
