// The cost of the bindings, measured (ios-demo/scripts/check --bench, release builds): the
// wallet's cold start (open the store, list the credentials) and a presentation (check a signed
// request, evaluate it, answer it with key binding) from Swift, against the same calls on the
// same exported objects from Rust (dinhdanh-ffi-timing) on the same wallet file, in alternating
// rounds. Skipped unless DINHDANH_SWIFT_BENCH is set.
import DemoCore
import DinhdanhFFI
import Foundation
import XCTest

final class BenchTests: XCTestCase {
    func testFFIOverheadAgainstRust() throws {
        guard ProcessInfo.processInfo.environment["DINHDANH_SWIFT_BENCH"] != nil else {
            throw XCTSkip("set DINHDANH_SWIFT_BENCH (ios-demo/scripts/check --bench)")
        }
        let server = try ServerProcess()
        defer { server.stop() }
        let network = Network()
        let api = ServerAPI(baseURL: server.publicURL, transport: network)
        _ = try server.command("dev", "level2", "--id-number", server.idNumber)
        let offer = try Kit.json(server.command(
            "offer", "create", "--id-number", server.idNumber, "--config", "pid", "--json"))

        let dir = Kit.tempDir()
        let parties = RelyingParties(server: server)
        let issuerRoot = try api.text("/trust/issuer-root.pem")
        let rpRoot = try api.text("/trust/rp-root.pem")
        try issuerRoot.write(toFile: dir + "/issuer.pem", atomically: true, encoding: .utf8)
        try rpRoot.write(toFile: dir + "/verifiers.pem", atomically: true, encoding: .utf8)
        let keys = try softwareKeystore(dir: dir + "/keys", passphrase: "bench")
        let open = {
            try Wallet.open(path: dir + "/wallet.db", keystore: keys, wrappingAlias: "wallet",
                            issuerAnchorsPem: issuerRoot, verifierAnchorsPem: rpRoot)
        }
        let now = systemClock()
        let bank = try Verifier.fromRegistration(config: parties.counter(
            host: "bank.example.vn", name: "Ngân hàng Ví dụ", purpose: "eKYC",
            claims: ["/given_name", "/family_name", "/birthdate"],
            bundle: api.text("/trust/bundle"), agencyRootPEM: issuerRoot, now: now))
        let context = try WalletContext(
            path: dir + "/wallet.db", keyStore: keys, issuerRootsPEM: issuerRoot,
            verifierRootsPEM: rpRoot, transport: network)
        try context.updateTrust(api: api, agencyRootsPEM: issuerRoot)
        _ = try context.wallet.receiveOffer(
            transport: network, offerUri: offer["offer_uri"] as! String,
            txCode: offer["tx_code"] as? String, copies: 3, now: systemClock())

        // Many short alternating rounds: the machine's load drifts, and each round's ratio is
        // taken between neighbours in time (docs/adr/0003).
        let rounds = 50
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        var swiftCold: [Double] = [], swiftPresent: [Double] = []
        var rustCold: [Double] = [], rustPresent: [Double] = []
        for _ in 0..<11 {
            // Swift: the calls an app makes.
            var cold: [Double] = []
            for _ in 0..<rounds {
                let start = DispatchTime.now().uptimeNanoseconds
                let wallet = try open()
                let held = try wallet.credentials()
                cold.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1000)
                if held.isEmpty { return XCTFail("no credential") }
            }
            let requests = try (0..<rounds).map { _ in
                try bank.createRequest(dcqlJson: VerifierModel.pidBasic, now: now).uri
            }
            let wallet = try open()
            var present: [Double] = []
            for uri in requests {
                let start = DispatchTime.now().uptimeNanoseconds
                let pending = try wallet.preparePresentation(uri: uri, transport: nil, now: now)
                let answer = try wallet.respond(pending: pending, now: now)
                present.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1000)
                if !answer.body.hasPrefix("vp_token=") { return XCTFail(answer.body) }
            }
            swiftCold.append(median(cold))
            swiftPresent.append(median(present))

            // Rust: the same calls on the same objects, in a Rust program.
            let rustRequests = try (0..<rounds).map { _ in
                try bank.createRequest(dcqlJson: VerifierModel.pidBasic, now: now).uri
            }
            try rustRequests.joined(separator: "\n").write(
                toFile: dir + "/requests.txt", atomically: true, encoding: .utf8)
            let rust = try Kit.json(Kit.run(Kit.tool("DINHDANH_FFI_TIMING"), [dir, "\(rounds)"]))
            rustCold.append(rust["cold_start_us"] as! Double)
            rustPresent.append(rust["presentation_us"] as! Double)
        }
        let coldRatio = median(zip(swiftCold, rustCold).map { $0 / $1 })
        let presentRatio = median(zip(swiftPresent, rustPresent).map { $0 / $1 })
        print(String(format: "bench: cold start (open + list) Swift %.1f us, Rust %.1f us: %+.1f %% (median of 11 round ratios)",
                     median(swiftCold), median(rustCold), (coldRatio - 1) * 100))
        print(String(format: "bench: presentation (prepare + respond) Swift %.1f us, Rust %.1f us: %+.1f %% (target < 10 %%)",
                     median(swiftPresent), median(rustPresent), (presentRatio - 1) * 100))
        print(String(format: "bench: FFI round trip (sdkVersion) %.2f us",
                     try roundTrip()))
    }

    private func roundTrip() throws -> Double {
        for _ in 0..<10_000 { _ = sdkVersion() }
        let calls = 100_000
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<calls { _ = sdkVersion() }
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1000 / Double(calls)
    }
}
