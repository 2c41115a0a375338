// The screens built on other issues' contracts (the telecom issue's SIM list, the signature
// issue's signing certificates), checked against those contracts' routes and JSON as written
// there, through a transport that answers as such a server would and records what was sent.
import DemoCore
import DinhdanhFFI
import Foundation
import XCTest

/// Answers by "METHOD path"; records every request.
final class ContractServer: Transport, @unchecked Sendable {
    var answers: [String: (UInt16, String)] = [:]
    private(set) var requests: [HttpRequest] = []

    func send(request: HttpRequest) throws -> HttpResponse {
        requests.append(request)
        let path = String(request.url.dropFirst("https://id.example".count))
        guard let (status, body) = answers["\(request.method) \(path)"] else {
            return HttpResponse(status: 404, headers: [], body: Data(
                #"{"type":"urn:dinhdanh:problem:not-found","title":"Not found","status":404}"#.utf8))
        }
        return HttpResponse(status: status, headers: [], body: Data(body.utf8))
    }
}

final class ContractTests: XCTestCase {
    private func api(_ server: ContractServer) -> ServerAPI {
        let api = ServerAPI(baseURL: "https://id.example/", transport: server)
        api.token = "t"
        return api
    }

    func testCapabilitiesComeFromTheOpenAPIDocument() throws {
        let server = ContractServer()
        server.answers["GET /openapi.json"] = (200, #"{"paths":{"/v1/me/subscriptions":{},"/v1/me":{}}}"#)
        let capabilities = try api(server).capabilities()
        XCTAssertTrue(capabilities.simList)
        XCTAssertFalse(capabilities.signingCertificates)
    }

    func testSimListAndMarks() throws {
        let server = ContractServer()
        server.answers["GET /v1/me/subscriptions"] = (200, """
            [{"subscription_id":"s1","msisdn":"+84912345678","operator":"Nhà mạng A","state":"active",
              "verification_method":"wallet","verified_at":"2026-12-01T00:00:00Z",
              "registered_at":"2026-12-01T00:00:00Z"},
             {"subscription_id":"s2","msisdn":"+84987654321","operator":"Nhà mạng B",
              "state":"reverification_required","verification_method":"four_fields",
              "verified_at":"2026-12-01T00:00:00Z","registered_at":"2026-12-01T00:00:00Z",
              "mark":"not_mine","dispute":{"dispute_id":"d1","state":"open"}}]
            """)
        server.answers["POST /v1/me/subscriptions/s2/mark"] = (200, #"{"subscription_id":"s2","mark":"not_mine","dispute_id":"d1"}"#)
        let api = api(server)
        let sims = SimListModel(api: api, capabilities: Capabilities(paths: ["/v1/me/subscriptions"]))
        sims.refresh()
        guard case .loaded(let numbers) = sims.state else { return XCTFail("\(sims.state)") }
        XCTAssertEqual(numbers.map(\.msisdn), ["+84912345678", "+84987654321"])
        XCTAssertEqual(numbers[1].state, "reverification_required")
        XCTAssertEqual(numbers[1].mark, "not_mine")
        XCTAssertTrue(numbers[1].disputeOpen)
        XCTAssertFalse(numbers[0].disputeOpen)
        sims.mark(subscriptionId: "s2", mine: false)
        let mark = try XCTUnwrap(server.requests.first { $0.url.hasSuffix("/mark") })
        XCTAssertEqual(mark.method, "POST")
        XCTAssertEqual(try Kit.json(String(decoding: mark.body, as: UTF8.self))["mark"] as? String,
                       "not_mine")
        XCTAssertTrue(mark.headers.contains { $0.name == "authorization" && $0.value == "Bearer t" })

        // Without the route the screen stays off and asks nothing.
        let off = ContractServer()
        let disabled = SimListModel(api: self.api(off), capabilities: Capabilities(paths: []))
        disabled.refresh()
        disabled.mark(subscriptionId: "s1", mine: true)
        XCTAssertEqual(disabled.state, .unavailable)
        XCTAssertTrue(off.requests.isEmpty)
    }

    final class FakeSigner: DocumentSigning {
        func certificateRequest(alias: String) throws -> String {
            "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n"
        }
        func signCMS(alias: String, chainPEM: String, document: Data) throws -> Data {
            Data([0x30, 0x80]) + document.prefix(4)
        }
        func signPDF(alias: String, chainPEM: String, pdf: Data) throws -> Data { pdf }
    }

    func testSigningCertificateAndASignature() throws {
        let server = ContractServer()
        server.answers["GET /v1/me/signing-certificates"] = (200, #"[{"id":"c0","serial":"01","status":"revoked","certificate":"","not_before":"2026-01-01T00:00:00Z","not_after":"2027-01-01T00:00:00Z"}]"#)
        server.answers["POST /v1/me/signing-certificates"] = (201, #"{"id":"c1","serial":"02","certificate_chain":"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n","not_before":"2026-12-01T00:00:00Z","not_after":"2027-12-01T00:00:00Z"}"#)
        let capabilities = Capabilities(paths: ["/v1/me/signing-certificates"])
        let signing = SigningModel(api: api(server), capabilities: capabilities, signer: FakeSigner())
        signing.refresh()
        guard case .ready(let certificates) = signing.state else { return XCTFail("\(signing.state)") }
        XCTAssertEqual(certificates.map(\.id), ["c0"])
        XCTAssertEqual(certificates.first?.status, "revoked")
        signing.requestCertificate()
        guard case .certified("c1", let chain) = signing.state else { return XCTFail("\(signing.state)") }
        XCTAssertTrue(chain.contains("BEGIN CERTIFICATE"))
        let request = try XCTUnwrap(server.requests.last)
        XCTAssertEqual(request.headers.first { $0.name == "content-type" }?.value, "application/json")
        XCTAssertTrue((try Kit.json(String(decoding: request.body, as: UTF8.self))["csr"] as? String)?
            .contains("CERTIFICATE REQUEST") ?? false)
        signing.sign(document: Data("hợp đồng".utf8))
        guard case .signed(let signature) = signing.state else { return XCTFail("\(signing.state)") }
        XCTAssertEqual(signature.prefix(2), Data([0x30, 0x80]))

        // Step-up refused by the server: a typed failure the screen shows.
        server.answers["POST /v1/me/signing-certificates"] = (403, #"{"type":"urn:dinhdanh:problem:step-up-required","title":"Forbidden","status":403}"#)
        signing.requestCertificate()
        XCTAssertEqual(signing.state, .failed(.server(status: 403, type: "step-up-required", detail: nil)))

        // No signer in this build, or no route on the server: off.
        let noSigner = SigningModel(api: api(server), capabilities: capabilities, signer: nil)
        guard case .unavailable = noSigner.state else { return XCTFail("\(noSigner.state)") }
    }
}
