import DinhdanhFFI
import Foundation

/// A failure of the server API, as the screens show it.
public enum APIError: Error, Equatable, Sendable {
    /// The server answered with an RFC 9457 problem (or another error status).
    case problem(status: Int, type: String, title: String, detail: String?)
    /// No answer (no network, timeout).
    case network(String)
    /// An answer the app does not understand.
    case malformed(String)
    /// The screen needs a session it does not have.
    case notSignedIn

    /// The problem's short type (`invalid-code`, `account-exists`, …), when there is one.
    public var problemType: String? {
        if case .problem(_, let type, _, _) = self {
            // `urn:dinhdanh:problem:invalid-code` or a URL ending in the type.
            return type.split(whereSeparator: { $0 == "/" || $0 == ":" }).last.map(String.init)
        }
        return nil
    }
}

/// A JSON value read from an answer (the server's documents are small; `JSONSerialization`
/// keeps WebAuthn options exactly as sent).
public typealias JSONObject = [String: Any]

/// The identity server's API, over the same `Transport` the SDK uses (one HTTP stack, one
/// place for certificate pinning on the phone). Paths and JSON are the server's OpenAPI
/// document's; every call is synchronous (call it off the main thread).
public final class ServerAPI: @unchecked Sendable {
    /// The server, e.g. `https://id.dinhdanh.gov.vn` (no trailing slash).
    public let baseURL: String
    private let transport: Transport
    private let lock = NSLock()
    private var _token: String?

    public init(baseURL: String, transport: Transport) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.transport = transport
    }

    /// The session token (setup, recovery or citizen session).
    public var token: String? {
        get { lock.lock(); defer { lock.unlock() }; return _token }
        set { lock.lock(); _token = newValue; lock.unlock() }
    }

    // MARK: - Requests

    /// Sends a request; the body of a 2xx answer, else `APIError.problem`.
    @discardableResult
    public func send(_ method: String, _ path: String, json: Any? = nil, contentType: String? = nil,
                     body: Data? = nil, authorized: Bool = true) throws -> Data {
        var headers = [HttpHeader(name: "accept", value: "application/json")]
        var payload = body ?? Data()
        if let json {
            payload = try JSONSerialization.data(withJSONObject: json)
            headers.append(HttpHeader(name: "content-type", value: "application/json"))
        } else if let contentType {
            headers.append(HttpHeader(name: "content-type", value: contentType))
        }
        if authorized, let token {
            headers.append(HttpHeader(name: "authorization", value: "Bearer \(token)"))
        }
        let response: HttpResponse
        do {
            response = try transport.send(request: HttpRequest(
                method: method, url: baseURL + path, headers: headers, body: payload))
        } catch {
            throw APIError.network("\(error)")
        }
        guard (200..<300).contains(Int(response.status)) else {
            let problem = (try? JSONSerialization.jsonObject(with: response.body)) as? JSONObject
            throw APIError.problem(
                status: Int(response.status),
                type: problem?["type"] as? String ?? "about:blank",
                title: problem?["title"] as? String ?? "HTTP \(response.status)",
                detail: problem?["detail"] as? String)
        }
        return response.body
    }

    /// A JSON object answer.
    public func object(_ method: String, _ path: String, json: Any? = nil) throws -> JSONObject {
        let data = try send(method, path, json: json)
        guard let object = try? JSONSerialization.jsonObject(with: data) as? JSONObject else {
            throw APIError.malformed("\(method) \(path): not a JSON object")
        }
        return object
    }

    /// A JSON array answer.
    public func array(_ path: String) throws -> [JSONObject] {
        let data = try send("GET", path)
        guard let array = try? JSONSerialization.jsonObject(with: data) as? [JSONObject] else {
            throw APIError.malformed("GET \(path): not a JSON array")
        }
        return array
    }

    /// A text document (PEM, a JWT).
    public func text(_ path: String) throws -> String {
        String(decoding: try send("GET", path, authorized: false), as: UTF8.self)
    }

    // MARK: - What the server offers

    /// The API paths the server serves, from its OpenAPI document: screens whose server side is
    /// not deployed everywhere (SIM list, signatures) are enabled by them.
    public func capabilities() throws -> Capabilities {
        let document = try object("GET", "/openapi.json")
        let paths = (document["paths"] as? JSONObject)?.keys.map { $0 } ?? []
        return Capabilities(paths: Set(paths))
    }
}

/// What the server serves (from its OpenAPI document).
public struct Capabilities: Equatable, Sendable {
    public let paths: Set<String>
    public init(paths: Set<String>) { self.paths = paths }

    /// The citizen's SIM list (`GET /v1/me/subscriptions`, telecom issue).
    public var simList: Bool { paths.contains("/v1/me/subscriptions") }
    /// Signing certificates (`/v1/me/signing-certificates`, signature issue).
    public var signingCertificates: Bool { paths.contains("/v1/me/signing-certificates") }
}

/// Reads a string member.
func string(_ object: JSONObject, _ name: String) throws -> String {
    guard let value = object[name] as? String else {
        throw APIError.malformed("member \(name) missing")
    }
    return value
}

/// A JSON value as text (WebAuthn options handed to the platform authenticator unchanged).
func jsonText(_ value: Any) throws -> String {
    String(decoding: try JSONSerialization.data(withJSONObject: value), as: UTF8.self)
}

/// Text that must be a JSON object.
func jsonObject(_ text: String) throws -> JSONObject {
    guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? JSONObject
    else { throw APIError.malformed("not a JSON object") }
    return object
}
