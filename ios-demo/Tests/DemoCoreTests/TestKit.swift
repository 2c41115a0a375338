// The test kit of the Swift journeys: a real dinhdanh-server process, the dinhdanh CLI, the
// software passkey authenticator (dinhdanh-passkey), and a counter backend that receives
// answers posted to a verifier's response_uri. Paths come from the environment
// (ios-demo/scripts/check sets them): DINHDANH_SERVER, DINHDANH_CLI, DINHDANH_PASSKEY.
import DemoCore
import DinhdanhFFI
import Foundation
import XCTest

/// A failure of the test kit, with what the program said.
struct KitError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

enum Kit {
    static func tool(_ name: String) -> String {
        guard let path = ProcessInfo.processInfo.environment[name] else {
            fatalError("\(name) is not set: run ios-demo/scripts/check")
        }
        return path
    }

    /// Runs a program; its standard output (fails the test on a non-zero exit).
    @discardableResult
    static func run(_ path: String, _ args: [String], input: String? = nil, cwd: String? = nil,
                    env: [String: String] = [:]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = args
        if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "DATABASE_URL")
        environment.removeValue(forKey: "DINHDANH_DATA_DIR")
        environment["DINHDANH_LOG"] = "warn"
        for (k, v) in env { environment[k] = v }
        process.environment = environment
        let out = Pipe(), stdin = Pipe()
        process.standardOutput = out
        process.standardInput = stdin
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        // Standard error is read on its own thread, so neither pipe can fill and block.
        final class Box: @unchecked Sendable { var data = Data() }
        let stderr = Box()
        let drained = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            stderr.data = errors.fileHandleForReading.readDataToEndOfFile()
            drained.signal()
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        drained.wait()
        guard process.terminationStatus == 0 else {
            let message = "\(path) \(args.first ?? "") failed: " + String(decoding: stderr.data, as: UTF8.self)
            throw KitError(message)
        }
        return String(decoding: data, as: UTF8.self)
    }

    static func cli(_ args: String..., input: String? = nil, cwd: String) throws -> String {
        try run(tool("DINHDANH_CLI"), args, input: input, cwd: cwd)
    }

    /// A JSON object from text.
    static func json(_ text: String) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        else { throw KitError("not a JSON object: \(text)") }
        return object
    }

    static func tempDir() -> String {
        let path = NSTemporaryDirectory() + "democore-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// `dinhdanh-server serve` on a free port with a development data directory, on SQLite or on
/// the PostgreSQL database `databaseURL`.
final class ServerProcess {
    let process = Process()
    let dataDir = Kit.tempDir()
    let publicURL: String
    let databaseURL: String?
    /// The demo citizen the server printed.
    let idNumber, fullName, dateOfBirth, phone: String

    init(databaseURL: String? = nil) throws {
        process.executableURL = URL(fileURLWithPath: Kit.tool("DINHDANH_SERVER"))
        process.arguments = ["--data-dir", dataDir, "serve", "--listen", "127.0.0.1:0"]
        var environment = ProcessInfo.processInfo.environment
        for name in ["DATABASE_URL", "DINHDANH_DATA_DIR", "DINHDANH_PUBLIC_URL"] {
            environment.removeValue(forKey: name)
        }
        environment["DINHDANH_LOG"] = "warn"
        environment["DINHDANH_SEED_CITIZENS"] = "50"
        if let databaseURL { environment["DATABASE_URL"] = databaseURL }
        self.databaseURL = databaseURL
        process.environment = environment
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Two lines: where it listens, then the demo citizen.
        var text = ""
        let handle = out.fileHandleForReading
        while text.filter({ $0 == "\n" }).count < 2 {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        let lines = text.split(separator: "\n").map(String.init)
        guard lines.count >= 2, let url = lines[0].components(separatedBy: "(public URL ").last
        else { throw KitError("the server printed no address: \(text)") }
        publicURL = String(url.dropLast())
        let fields = lines[1].components(separatedBy: " · ")
        func field(_ name: String) -> String {
            fields.first { $0.contains("\(name) ") }?.components(separatedBy: "\(name) ").last ?? ""
        }
        idNumber = field("id_number")
        fullName = field("full_name")
        dateOfBirth = field("date_of_birth")
        phone = field("registered phone").components(separatedBy: ";")[0]
        // Keep draining stdout so the server never blocks on a full pipe.
        handle.readabilityHandler = { _ = $0.availableData }
    }

    /// An operator command against the same data directory.
    func command(_ args: String...) throws -> String { try command(args) }

    func command(_ args: [String]) throws -> String {
        var env = ["DINHDANH_PUBLIC_URL": publicURL]
        if let databaseURL { env["DATABASE_URL"] = databaseURL }
        return try Kit.run(Kit.tool("DINHDANH_SERVER"), ["--data-dir", dataDir] + args, env: env)
    }

    /// The one-time code of the `index`-th SMS the development sink wrote.
    func smsCode(_ index: Int = 0) throws -> String {
        for _ in 0..<500 {
            if let log = try? String(contentsOfFile: dataDir + "/sms.log", encoding: .utf8) {
                let lines = log.split(separator: "\n")
                if lines.count > index,
                   let message = try? JSONSerialization.jsonObject(with: Data(lines[index].utf8))
                       as? [String: Any],
                   let text = message["text"] as? String,
                   let after = text.components(separatedBy: "là ").dropFirst().first {
                    return String(after.prefix(6))
                }
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        throw KitError("no SMS \(index) was sent")
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: dataDir)
    }
}

/// The software authenticator of the tests (`dinhdanh-passkey`), as the phone's passkeys: the
/// server runs its real WebAuthn checks against it.
final class HelperAuthenticator: PasskeyAuthenticator {
    let state = Kit.tempDir() + "/passkey.json"
    let origin: String
    init(origin: String) { self.origin = origin }

    func register(optionsJSON: String) throws -> String {
        try Kit.run(Kit.tool("DINHDANH_PASSKEY"),
                    ["create", "--state", state, "--rp-id", "localhost", "--origin", origin],
                    input: optionsJSON)
    }

    func assert(optionsJSON: String) throws -> String {
        try Kit.run(Kit.tool("DINHDANH_PASSKEY"), ["get", "--state", state], input: optionsJSON)
    }
}

/// The phone's network: the real server over `URLSessionTransport`, and the counters' backends
/// (`https://<host>/…` of registered verifiers) answered in process by their `VerifierModel`.
final class Network: Transport, @unchecked Sendable {
    let http = URLSessionTransport()
    var counters: [String: VerifierModel] = [:]
    private(set) var posted: [String] = []

    func send(request: HttpRequest) throws -> HttpResponse {
        if let host = URL(string: request.url)?.host, let counter = counters[host] {
            let body = String(decoding: request.body, as: UTF8.self)
            posted.append(body)
            counter.received(body: body)
            return HttpResponse(status: 200, headers: [], body: Data("{}".utf8))
        }
        // The server's URLs say localhost; dial 127.0.0.1 (no IPv6 listener).
        var request = request
        request.url = request.url.replacingOccurrences(of: "//localhost", with: "//127.0.0.1")
        return try http.send(request: request)
    }
}

/// Relying parties registered with the agency the real way: each makes its own key and a
/// certificate signing request (`dinhdanh x509 csr --key`), the operator registers it
/// (`dinhdanh-server rp register … --json`: an access certificate from the agency's relying-party
/// CA and a registration signed by its registrar).
final class RelyingParties {
    let work = Kit.tempDir()
    let server: ServerProcess
    /// The rp_id of each registered host, for `rp revoke`.
    private(set) var ids: [String: String] = [:]

    init(server: ServerProcess) { self.server = server }

    /// A counter's verifier, `host` registered for `claims` of the PID; the wallet's trust comes
    /// from the agency's bundle (`bundle`, verified against `agencyRootPEM`).
    func counter(host: String, name: String, purpose: String, claims: [String],
                 bundle: String, agencyRootPEM: String, now: UInt64) throws -> RegisteredVerifierConfig {
        let registered = try register(host: host, name: name, purpose: purpose, claims: claims)
        return RegisteredVerifierConfig(
            signingKeyJwk: registered.key, certificateChainPem: registered.chain,
            registration: registered.registration,
            responseUri: "https://\(host)/openid4vp/response", trustBundle: bundle,
            agencyRootsPem: agencyRootPEM, now: now)
    }

    /// A verifier certified by the agency's relying-party CA that shows no registration.
    func unregistered(host: String, name: String, issuerRootPEM: String,
                      now: UInt64) throws -> VerifierConfig {
        let registered = try register(host: host, name: name, purpose: "", claims: ["/given_name"])
        return VerifierConfig(
            signingKeyJwk: registered.key, certificateChainPem: registered.chain,
            clientId: "x509_san_dns:\(host)", responseUri: "https://\(host)/openid4vp/response",
            issuerAnchorsPem: issuerRootPEM, trustAsOf: now, registration: nil, statusMaxAge: 600)
    }

    private func register(host: String, name: String, purpose: String,
                          claims: [String]) throws -> (key: String, chain: String, registration: String) {
        let key = try Kit.cli("keygen", cwd: work)
        try key.write(toFile: "\(work)/\(host).jwk", atomically: true, encoding: .utf8)
        let csr = try Kit.cli("x509", "csr", "--key", "\(host).jwk", cwd: work)
        try csr.write(toFile: "\(work)/\(host).csr", atomically: true, encoding: .utf8)
        var args = ["rp", "register", "--name", name, "--kind", "other", "--dns", host,
                    "--csr", "\(work)/\(host).csr", "--allow", "pid:" + claims.joined(separator: ","),
                    "--json"]
        if !purpose.isEmpty { args += ["--purpose", purpose] }
        let printed = try server.command(args)
        guard let object = try JSONSerialization.jsonObject(with: Data(printed.utf8)) as? [String: Any],
              let chain = object["certificate_chain"] as? String,
              let registration = object["registration"] as? String,
              let rpId = object["rp_id"] as? String,
              object["client_id"] as? String == "x509_san_dns:\(host)"
        else { throw KitError("rp register printed \(printed)") }
        ids[host] = rpId
        return (key, chain, registration)
    }
}
