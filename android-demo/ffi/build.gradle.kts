// The generated UniFFI bindings and the native library per ABI. Both are generated, not
// committed: run scripts/generate-bindings (host library → src/main/kotlin) and
// scripts/build-jnilibs (cargo ndk → src/main/jniLibs) first.
plugins {
    alias(libs.plugins.android.library)
    alias(libs.plugins.kotlin.android)
}

android {
    namespace = "vn.dinhdanh.wallet.ffi"
    compileSdk = 35
    defaultConfig {
        minSdk = 26
        consumerProguardFiles("consumer-rules.pro")
    }
    sourceSets["main"].jniLibs.srcDirs("src/main/jniLibs")
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    packaging {
        // 16 KB page alignment: keep the libraries uncompressed and page-aligned in the APK.
        jniLibs.useLegacyPackaging = false
    }
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    // JNA with its Android native dispatch libraries.
    api("${libs.jna.get()}@aar")
}
