package vn.dinhdanh.wallet.core

/**
 * A small JSON reader and writer for the server's answers (RFC 8259): objects become
 * `Map<String, Any?>` (insertion order kept), arrays `List<Any?>`, numbers `Long` or `Double`,
 * plus `String`, `Boolean` and `null`. Malformed text throws [JsonException].
 */
object Json {
    class JsonException(message: String) : Exception(message)

    fun parse(text: String): Any? {
        val reader = Reader(text)
        val value = reader.value(0)
        reader.skipSpace()
        if (reader.at != text.length) throw JsonException("trailing characters at ${reader.at}")
        return value
    }

    fun obj(text: String): Map<String, Any?> =
        parse(text) as? Map<String, Any?> ?: throw JsonException("not a JSON object")

    fun write(value: Any?): String = StringBuilder().also { write(value, it) }.toString()

    private fun write(value: Any?, out: StringBuilder) {
        when (value) {
            null -> out.append("null")
            is String -> string(value, out)
            is Boolean, is Int, is Long -> out.append(value.toString())
            is Number -> out.append(value.toDouble().toString())
            is Map<*, *> -> {
                out.append('{')
                value.entries.forEachIndexed { i, (k, v) ->
                    if (i > 0) out.append(',')
                    string(k.toString(), out)
                    out.append(':')
                    write(v, out)
                }
                out.append('}')
            }
            is Iterable<*> -> {
                out.append('[')
                value.forEachIndexed { i, v ->
                    if (i > 0) out.append(',')
                    write(v, out)
                }
                out.append(']')
            }
            else -> throw JsonException("cannot write ${value::class.simpleName}")
        }
    }

    private fun string(s: String, out: StringBuilder) {
        out.append('"')
        for (c in s) {
            when {
                c == '"' -> out.append("\\\"")
                c == '\\' -> out.append("\\\\")
                c == '\n' -> out.append("\\n")
                c == '\r' -> out.append("\\r")
                c == '\t' -> out.append("\\t")
                c < ' ' -> out.append("\\u%04x".format(c.code))
                else -> out.append(c)
            }
        }
        out.append('"')
    }

    private const val MAX_DEPTH = 64

    private class Reader(val text: String) {
        var at = 0

        fun skipSpace() {
            while (at < text.length && text[at] in " \t\r\n") at++
        }

        fun fail(why: String): Nothing = throw JsonException("$why at $at")

        fun value(depth: Int): Any? {
            if (depth > MAX_DEPTH) fail("nested too deep")
            skipSpace()
            if (at >= text.length) fail("unexpected end")
            return when (val c = text[at]) {
                '{' -> obj(depth)
                '[' -> array(depth)
                '"' -> string()
                't' -> literal("true", true)
                'f' -> literal("false", false)
                'n' -> literal("null", null)
                else -> if (c == '-' || c.isDigit()) number() else fail("unexpected '$c'")
            }
        }

        fun literal(word: String, value: Any?): Any? {
            if (!text.startsWith(word, at)) fail("bad literal")
            at += word.length
            return value
        }

        fun obj(depth: Int): Map<String, Any?> {
            at++
            val map = LinkedHashMap<String, Any?>()
            skipSpace()
            if (at < text.length && text[at] == '}') { at++; return map }
            while (true) {
                skipSpace()
                if (at >= text.length || text[at] != '"') fail("expected a name")
                val name = string()
                skipSpace()
                if (at >= text.length || text[at] != ':') fail("expected ':'")
                at++
                map[name] = value(depth + 1)
                skipSpace()
                if (at >= text.length) fail("unexpected end")
                when (text[at++]) {
                    ',' -> continue
                    '}' -> return map
                    else -> fail("expected ',' or '}'")
                }
            }
        }

        fun array(depth: Int): List<Any?> {
            at++
            val list = ArrayList<Any?>()
            skipSpace()
            if (at < text.length && text[at] == ']') { at++; return list }
            while (true) {
                list.add(value(depth + 1))
                skipSpace()
                if (at >= text.length) fail("unexpected end")
                when (text[at++]) {
                    ',' -> continue
                    ']' -> return list
                    else -> fail("expected ',' or ']'")
                }
            }
        }

        fun string(): String {
            at++
            val out = StringBuilder()
            while (true) {
                if (at >= text.length) fail("unterminated string")
                val c = text[at++]
                when {
                    c == '"' -> return out.toString()
                    c == '\\' -> {
                        if (at >= text.length) fail("bad escape")
                        when (val e = text[at++]) {
                            '"', '\\', '/' -> out.append(e)
                            'b' -> out.append('\b')
                            'f' -> out.append('\u000c')
                            'n' -> out.append('\n')
                            'r' -> out.append('\r')
                            't' -> out.append('\t')
                            'u' -> {
                                if (at + 4 > text.length) fail("bad escape")
                                val code = text.substring(at, at + 4).toIntOrNull(16) ?: fail("bad escape")
                                out.append(code.toChar())
                                at += 4
                            }
                            else -> fail("bad escape")
                        }
                    }
                    c < ' ' -> fail("control character in a string")
                    else -> out.append(c)
                }
            }
        }

        fun number(): Any {
            val start = at
            if (text[at] == '-') at++
            while (at < text.length && (text[at].isDigit() || text[at] in ".eE+-")) at++
            val literal = text.substring(start, at)
            return literal.toLongOrNull() ?: literal.toDoubleOrNull() ?: fail("bad number")
        }
    }
}

/** Typed access to a parsed JSON object. */
fun Map<String, Any?>.str(name: String): String? = this[name] as? String
fun Map<String, Any?>.long(name: String): Long? = (this[name] as? Number)?.toLong()
fun Map<String, Any?>.bool(name: String): Boolean? = this[name] as? Boolean
@Suppress("UNCHECKED_CAST")
fun Map<String, Any?>.obj(name: String): Map<String, Any?>? = this[name] as? Map<String, Any?>
@Suppress("UNCHECKED_CAST")
fun Map<String, Any?>.list(name: String): List<Any?> = this[name] as? List<Any?> ?: emptyList()
