package vn.dinhdanh.wallet.core

import java.io.File
import java.nio.file.Files

/** The demo citizen the development server prints (synthetic registry data). */
data class DemoCitizen(val idNumber: String, val fullName: String, val dateOfBirth: String, val phone: String)

/**
 * A real `dinhdanh-server serve` (zero-config development start: SQLite, development keys, a
 * synthetic registry, SMS written to a file) in a scratch directory, on a free port.
 */
class ServerProcess private constructor(val dir: File, private val process: Process, val publicUrl: String, val citizen: DemoCitizen, private val smsLog: File) : AutoCloseable {
    companion object {
        val server: String = System.getenv("DINHDANH_SERVER") ?: error("DINHDANH_SERVER is not set")
        val cli: String = System.getenv("DINHDANH_CLI") ?: error("DINHDANH_CLI is not set")

        fun start(): ServerProcess {
            val dir = Files.createTempDirectory("dinhdanh-android").toFile()
            val builder = ProcessBuilder(server, "serve", "--listen", "127.0.0.1:0").directory(dir)
            listOf("DATABASE_URL", "DINHDANH_DATA_DIR", "DINHDANH_PUBLIC_URL").forEach(builder.environment()::remove)
            builder.environment()["DINHDANH_LOG"] = "warn"
            builder.redirectError(ProcessBuilder.Redirect.DISCARD)
            val process = builder.start()
            val lines = process.inputStream.bufferedReader()
            val listening = lines.readLine() ?: error("the server printed nothing")
            val publicUrl = listening.substringAfter("(public URL ").removeSuffix(")")
            val demo = lines.readLine() ?: error("the server printed no demo citizen")
            Thread { lines.forEachLine { } }.apply { isDaemon = true }.start()
            fun field(name: String) = demo.substringAfter("$name ").substringBefore(" ·").substringBefore(";").trim()
            val citizen = DemoCitizen(field("id_number"), field("full_name"), field("date_of_birth"), field("registered phone"))
            val sms = File(demo.substringAfter("the code is written to ").trim()).let { if (it.isAbsolute) it else File(dir, it.path) }
            return ServerProcess(dir, process, publicUrl, citizen, sms)
        }
    }

    /** An operator command on the same data directory. */
    fun command(vararg args: String): String = run(listOf(server) + args, mapOf("DINHDANH_PUBLIC_URL" to publicUrl))

    fun cli(vararg args: String, input: String? = null): String = run(listOf(cli) + args, emptyMap(), input)

    private fun run(command: List<String>, env: Map<String, String>, input: String? = null): String {
        val builder = ProcessBuilder(command).directory(dir)
        listOf("DATABASE_URL", "DINHDANH_DATA_DIR").forEach(builder.environment()::remove)
        builder.environment()["DINHDANH_LOG"] = "warn"
        builder.environment().putAll(env)
        builder.redirectError(ProcessBuilder.Redirect.DISCARD)
        val process = builder.start()
        process.outputStream.use { out -> input?.let { out.write(it.toByteArray()) } }
        val out = process.inputStream.bufferedReader().readText()
        check(process.waitFor() == 0) { "${command.joinToString(" ")} failed" }
        return out
    }

    /** The one-time code of the [index]th SMS the server sent (the test plays the citizen's phone). */
    fun smsCode(index: Int): String {
        repeat(500) {
            val line = smsLog.takeIf { it.exists() }?.readLines()?.getOrNull(index)
            if (line != null) return Json.obj(line).str("text")!!.substringAfter("là ").take(6)
            Thread.sleep(20)
        }
        error("no SMS was sent")
    }

    override fun close() {
        process.destroy()
        if (!process.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) process.destroyForcibly().waitFor()
        dir.deleteRecursively()
    }
}
