// The Swift bindings of dinhdanh-ffi: typed errors, and a shop that tells a revoked credential
// from a forged one (the CLI as the issuer, as in the Python and Kotlin journeys). Not part of
// scripts/test (a Swift toolchain is 4.6 GB); the README's bindings section says how to run it.
//
// Environment: DINHDANH_CLI (the dinhdanh binary), DINHDANH_WORK (a scratch directory).
import Foundation

let work = ProcessInfo.processInfo.environment["DINHDANH_WORK"]!
let cliPath = ProcessInfo.processInfo.environment["DINHDANH_CLI"]!

func cli(_ args: String..., input: String? = nil) -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: cliPath)
    process.arguments = args
    process.currentDirectoryURL = URL(fileURLWithPath: work)
    let out = Pipe()
    process.standardOutput = out
    let stdin = Pipe()
    process.standardInput = stdin
    try! process.run()
    if let input { stdin.fileHandleForWriting.write(input.data(using: .utf8)!) }
    try! stdin.fileHandleForWriting.close()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    precondition(process.terminationStatus == 0, "dinhdanh \(args) failed")
    return String(decoding: data, as: UTF8.self)
}

func file(_ name: String, _ text: String) {
    try! text.write(toFile: "\(work)/\(name)", atomically: true, encoding: .utf8)
}

func read(_ name: String) -> String { try! String(contentsOfFile: "\(work)/\(name)", encoding: .utf8) }

print("swift: sdk \(sdkVersion())")

// Bad input is a typed error.
do {
    _ = try Verifier(config: VerifierConfig(signingKeyJwk: "{}", certificateChainPem: "",
        clientId: "x509_san_dns:bank.example.vn", responseUri: "https://bank.example.vn/r",
        issuerAnchorsPem: "", trustAsOf: 0))
    fatalError("a verifier without a key was made")
} catch DinhdanhError.InvalidInput(let reason) {
    print("swift: bad input refused: \(reason)")
}

for name in ["rpca", "bank", "ca", "issuer", "holder"] { file("\(name).jwk", cli("keygen")) }
file("rpca.pem", cli("x509", "dev-ca", "--key", "rpca.jwk", "--cn", "relying-party CA"))
let bankPem = cli("x509", "dev-cert", "--ca-key", "rpca.jwk", "--ca-cert", "rpca.pem",
    "--subject-key", "bank.jwk", "--cn", "Bank", "--dns", "bank.example.vn")
file("ca.pem", cli("x509", "dev-ca", "--key", "ca.jwk", "--cn", "agency root"))
file("issuer.pem", cli("x509", "dev-cert", "--ca-key", "ca.jwk", "--ca-cert", "ca.pem",
    "--subject-key", "issuer.jwk", "--uri", "https://id.dinhdanh.example"))
file("claims.json", """
    {"iss": "https://id.dinhdanh.example", "personal_identifier": "001204012345",
     "family_name": "Nguyễn", "given_name": "Văn An", "birthdate": "2004-03-15", "sex": 1,
     "nationalities": ["VN"], "issuing_authority": "Bộ Công an", "issuing_country": "VN"}
    """)
let statusUri = "https://id.dinhdanh.example/status/1"
let pid = cli("sd-jwt", "issue", "--issuer-key", "issuer.jwk", "--x5c", "issuer.pem",
    "--holder-jwk", "holder.jwk", "--vct", "urn:vn:dinhdanh:pid:1", "--claims", "claims.json",
    "--sd", "/personal_identifier,/family_name,/given_name,/birthdate",
    "--status-idx", "7", "--status-uri", statusUri)
let status = cli("status-list", "sign", "--key", "issuer.jwk", "--x5c", "issuer.pem", "--uri",
    statusUri, "--bits", "2", "--ttl", "3600", input: "[0,0,0,0,0,0,0,1]")
    .trimmingCharacters(in: .whitespacesAndNewlines)

let now = UInt64(Date().timeIntervalSince1970)
let clientId = "x509_san_dns:bank.example.vn"
let shop = try Verifier(config: VerifierConfig(signingKeyJwk: read("bank.jwk"),
    certificateChainPem: bankPem, clientId: clientId,
    responseUri: "https://bank.example.vn/openid4vp/response",
    issuerAnchorsPem: read("ca.pem"), trustAsOf: now))
try shop.addStatusList(uri: statusUri, token: status, now: now)

func answer(forge: Bool) throws -> String {
    let created = try shop.createRequest(dcqlJson: """
        {"credentials":[{"id":"pid","format":"dc+sd-jwt",
         "meta":{"vct_values":["urn:vn:dinhdanh:pid:1"]},"claims":[{"path":["given_name"]}]}]}
        """, now: now)
    let jwt = created.uri.components(separatedBy: "request=")[1].components(separatedBy: "&")[0]
    var payload = jwt.components(separatedBy: ".")[1]
        .replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    payload += String(repeating: "=", count: (4 - payload.count % 4) % 4)
    let request = try JSONSerialization.jsonObject(with: Data(base64Encoded: payload)!) as! [String: Any]
    var presentation = Array(cli("sd-jwt", "present", "--holder-key", "holder.jwk", "--disclose",
        "/given_name", "--aud", clientId, "--nonce=" + (request["nonce"] as! String), input: pid)
        .trimmingCharacters(in: .whitespacesAndNewlines))
    if forge {
        // One character of the issuer's signature changed.
        let at = presentation.firstIndex(of: "~")! - 10
        presentation[at] = presentation[at] == "A" ? "B" : "A"
    }
    let encode = { (text: String) in text.addingPercentEncoding(withAllowedCharacters: .alphanumerics)! }
    return "vp_token=" + encode("{\"pid\":[\"\(String(presentation))\"]}") + "&state="
        + encode(request["state"] as! String)
}

do {
    _ = try shop.receive(body: answer(forge: false), now: now)
    fatalError("a revoked credential was accepted")
} catch DinhdanhError.Revoked(let reason) {
    print("swift: revoked credential refused: \(reason)")
}
do {
    _ = try shop.receive(body: answer(forge: true), now: now)
    fatalError("a forged credential was accepted")
} catch DinhdanhError.Forged(let reason) {
    print("swift: forged credential refused: \(reason)")
}
print("swift check: ok")
