import DinhdanhFFI
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The phone's HTTP stack for the Rust SDK and the server API client: `URLSession`, called
/// synchronously (the SDK calls `send` on the thread that called into it, never the main
/// thread in the app). Any status is a response; only a missing response is a failure.
public final class URLSessionTransport: Transport, @unchecked Sendable {
    private let session: URLSession
    private let timeout: TimeInterval

    public init(timeout: TimeInterval = 30) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpCookieStorage = nil
        configuration.urlCache = nil
        configuration.timeoutIntervalForRequest = timeout
        self.session = URLSession(configuration: configuration)
        self.timeout = timeout
    }

    public func send(request: HttpRequest) throws -> HttpResponse {
        guard let url = URL(string: request.url), url.scheme == "https" || url.scheme == "http"
        else { throw TransportFailure.Failed(reason: "not an http(s) URL") }
        var urlRequest = URLRequest(url: url, timeoutInterval: timeout)
        urlRequest.httpMethod = request.method
        for header in request.headers {
            urlRequest.addValue(header.value, forHTTPHeaderField: header.name)
        }
        if request.method != "GET" { urlRequest.httpBody = Data(request.body) }

        let done = DispatchSemaphore(value: 0)
        let outcome = Outcome()
        let task = session.dataTask(with: urlRequest) { data, response, error in
            defer { done.signal() }
            if let error = error as? URLError {
                switch error.code {
                case .timedOut: outcome.result = .failure(.Timeout(reason: error.localizedDescription))
                case .cannotConnectToHost, .cannotFindHost, .notConnectedToInternet,
                    .dnsLookupFailed:
                    outcome.result = .failure(.NoConnection(reason: error.localizedDescription))
                case .secureConnectionFailed, .serverCertificateUntrusted,
                    .serverCertificateHasBadDate, .serverCertificateNotYetValid:
                    outcome.result = .failure(.Tls(reason: error.localizedDescription))
                default: outcome.result = .failure(.Failed(reason: error.localizedDescription))
                }
                return
            }
            if let error {
                outcome.result = .failure(.Failed(reason: error.localizedDescription))
                return
            }
            guard let http = response as? HTTPURLResponse else {
                outcome.result = .failure(.Failed(reason: "not an HTTP response"))
                return
            }
            let headers = http.allHeaderFields.compactMap { name, value -> HttpHeader? in
                guard let name = name as? String else { return nil }
                return HttpHeader(name: name.lowercased(), value: "\(value)")
            }
            outcome.result = .success(HttpResponse(
                status: UInt16(clamping: http.statusCode), headers: headers,
                body: Data(data ?? Data())))
        }
        task.resume()
        if done.wait(timeout: .now() + timeout + 5) == .timedOut {
            task.cancel()
            throw TransportFailure.Timeout(reason: "no answer in \(Int(timeout)) s")
        }
        return try outcome.result.get()
    }
}

/// The answer, handed from URLSession's queue to the waiting caller (the semaphore orders the
/// write before the read).
private final class Outcome: @unchecked Sendable {
    var result: Result<HttpResponse, TransportFailure> = .failure(.Timeout(reason: "no answer"))
}

/// The time the SDK is told, Unix seconds (a function so tests can move the clock).
public typealias Clock = () -> UInt64

/// The device's clock.
public let systemClock: Clock = { UInt64(Date().timeIntervalSince1970) }
