// Plain Kotlin, no android.*: view models and state for every screen, the server API client,
// the platform contracts (KeyStore, Transport, PasskeyAuthenticator, ChipReader) and BAC. Its
// tests run on the JVM against a real dinhdanh-server (scripts/check runs the same with kotlinc).
plugins {
    alias(libs.plugins.kotlin.jvm)
}

kotlin {
    jvmToolchain(17)
}

// The generated bindings (ffi/src/main/kotlin) compiled for the JVM against desktop JNA: core
// compiles against them and its tests run with them; on Android the app gets the same classes
// from :ffi (with JNA @aar and the jniLibs), so core does not ship them.
val bindings: SourceSet by sourceSets.creating {
    kotlin.srcDir("../ffi/src/main/kotlin")
}

dependencies {
    "bindingsImplementation"(libs.jna)
    compileOnly(bindings.output)
    compileOnly(libs.jna)
    api(libs.kotlinx.coroutines.core)
    testImplementation(bindings.output)
    testImplementation(libs.jna)
    testImplementation(libs.junit)
}

tasks.test {
    // The host library and the server: `cargo build --workspace` first.
    val target = rootDir.resolve("../target/debug")
    systemProperty("jna.library.path", target.path)
    environment("DINHDANH_SERVER", target.resolve("dinhdanh-server").path)
    environment("DINHDANH_CLI", target.resolve("dinhdanh").path)
}
