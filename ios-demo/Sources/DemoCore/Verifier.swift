import DinhdanhFFI
import Foundation

/// Verifier mode, for a telecom or bank counter: the counter's phone shows a signed request as
/// a QR code, the citizen's wallet answers (online to `response_uri`, or offline as a QR code
/// the counter scans), and the answer is checked here, offline: chain to the agency's roots,
/// key binding to this request, status list, each request answered once.
public final class VerifierModel: ScreenModel {
    public enum State: Equatable {
        case idle
        /// Show `uri` as a QR code.
        case showingRequest(uri: String, state: String)
        case verified([VerifiedCredential])
        case rejected(FailureReason)
    }

    public private(set) var state: State = .idle { didSet { onChange?() } }
    public var onChange: (() -> Void)?
    public let verifier: Verifier
    private let clock: Clock
    /// The request on show (its `state`) and the id of its credential query: what a scanned
    /// answer must answer.
    private var shown: (state: String, queryId: String)?

    public init(config: VerifierConfig, clock: @escaping Clock = systemClock) throws {
        verifier = try Verifier(config: config)
        self.clock = clock
    }

    /// A counter registered with the agency (`dinhdanh-server rp register`): its access
    /// certificate, its registration and the agency's trust bundle.
    public init(registered config: RegisteredVerifierConfig,
                clock: @escaping Clock = systemClock) throws {
        verifier = try Verifier.fromRegistration(config: config)
        self.clock = clock
    }

    /// Adds a status list fetched while online (the answers' credentials are checked against it).
    public func addStatusList(uri: String, token: String) throws {
        try verifier.addStatusList(uri: uri, token: token, now: clock())
    }

    /// The PID claims a counter asks for (given name, family name, birth date).
    public static let pidBasic = """
        {"credentials":[{"id":"pid","format":"dc+sd-jwt",
         "meta":{"vct_values":["urn:vn:dinhdanh:pid:1"]},
         "claims":[{"path":["given_name"]},{"path":["family_name"]},{"path":["birthdate"]}]}]}
        """

    /// Makes a request for a DCQL query whose credential query is `queryId`: show `state`'s URI
    /// as a QR code.
    public func showRequest(dcql: String = VerifierModel.pidBasic, queryId: String = "pid") {
        do {
            let created = try verifier.createRequest(dcqlJson: dcql, now: clock())
            shown = (created.state, queryId)
            state = .showingRequest(uri: created.uri, state: created.state)
        } catch { state = .rejected(FailureReason(error)) }
    }

    /// An answer posted to the counter's `response_uri` (its form body).
    public func received(body: String) {
        do {
            state = .verified(try verifier.receive(body: body, now: clock()))
        } catch { state = .rejected(FailureReason(error)) }
    }

    /// An answer scanned from the citizen's phone (offline), to the request on show. A failure
    /// keeps the request open for another try; a verified answer uses it up (the verifier takes
    /// each request once: the same answer again is a replay).
    public func scanned(qr text: String) {
        guard let shown else { return }
        do {
            state = .verified(try verifier.receiveQr(
                qrText: text, state: shown.state, query: shown.queryId, now: clock()))
        } catch { state = .rejected(FailureReason(error)) }
    }
}
