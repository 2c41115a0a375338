import DinhdanhFFI
import Foundation

/// Presenting: a scanned `openid4vp://` request is checked (who asks: signature, chain, client
/// id, registration), evaluated within the relying party's registration, and shown as a consent
/// with the RP's registered name and purpose and each claim; the citizen approves or declines.
/// Online the answer is posted to the verifier's `response_uri`; offline (`mode: .offlineQR`)
/// it is packed into one QR code for the counter's phone to scan.
public final class PresentationModel: ScreenModel {
    public enum Mode: Equatable { case online, offlineQR }

    public enum State: Equatable {
        case idle
        case consent(Consent)
        /// Sent (online) or shown (offline): what was disclosed, to whom.
        case presented(verifier: String, claims: [String])
        /// Offline: the QR code's text (Base45, QR alphanumeric mode).
        case showQR(text: String, verifier: String)
        case declined
        /// Nothing was disclosed; the verifier was told when it could be (`toldVerifier`).
        case refused(FailureReason, toldVerifier: Bool)
        case failed(FailureReason)
    }

    public private(set) var state: State = .idle { didSet { onChange?() } }
    public var onChange: (() -> Void)?
    public let mode: Mode
    private let context: WalletContext
    private var pending: PendingPresentation?

    public init(context: WalletContext, mode: Mode = .online) {
        self.context = context
        self.mode = mode
    }

    /// A scanned request (a QR code or a deep link).
    public func scanned(uri: String) {
        do {
            // Offline, a request by reference cannot be fetched: only requests by value work.
            let transport = mode == .online ? context.transport : nil
            let pending = try context.wallet.preparePresentation(
                uri: uri, transport: transport, now: context.clock())
            self.pending = pending
            state = .consent(pending.consent())
        } catch let DinhdanhError.UnregisteredVerifier(_, responseUri, body) {
            // An unregistered verifier gets nothing, but learns so instead of waiting.
            let told = mode == .online && post(body: body, to: responseUri)
            state = .refused(.unregisteredVerifier, toldVerifier: told)
        } catch let DinhdanhError.RequestRefused(reason, responseUri, body) {
            let told = mode == .online && post(body: body, to: responseUri)
            state = .refused(.requestRefused(reason), toldVerifier: told)
        } catch { state = .failed(FailureReason(error)) }
    }

    /// The citizen approved what the consent shows.
    public func approve() {
        guard let pending, case .consent(let consent) = state else { return }
        self.pending = nil
        do {
            if mode == .offlineQR && !consent.items.isEmpty {
                // One key-bound presentation in the SDK's compact QR form (`DD1:…`); a consent
                // with more than one credential is refused before anything is disclosed.
                let text = try context.wallet.respondQr(pending: pending, now: context.clock())
                state = .showQR(text: text, verifier: consent.verifierName)
                return
            }
            let answer = try context.wallet.respond(pending: pending, now: context.clock())
            let claims = consent.items.flatMap { $0.claims }
            if consent.items.isEmpty {
                // Nothing the registration allows: the answer is access_denied.
                let told = mode == .online && post(body: answer.body, to: answer.responseUri)
                state = .refused(.refused("access_denied"), toldVerifier: told)
                return
            }
            guard post(body: answer.body, to: answer.responseUri) else {
                state = .failed(.network("the verifier did not accept the answer"))
                return
            }
            state = .presented(verifier: consent.verifierName, claims: claims)
        } catch let DinhdanhError.UnregisteredVerifier(_, responseUri, body) {
            // Not registered with the agency (the consent said so): nothing is disclosed.
            let told = mode == .online && post(body: body, to: responseUri)
            state = .refused(.unregisteredVerifier, toldVerifier: told)
        } catch { state = .failed(FailureReason(error)) }
    }

    /// The citizen said no: the verifier hears `access_denied` (online), nothing is disclosed.
    public func decline() {
        guard let pending else { return }
        self.pending = nil
        do {
            let answer = try context.wallet.decline(pending: pending)
            if mode == .online { _ = post(body: answer.body, to: answer.responseUri) }
            state = .declined
        } catch { state = .failed(FailureReason(error)) }
    }

    /// Posts a form body; whether the verifier answered 2xx.
    private func post(body: String, to url: String) -> Bool {
        let request = HttpRequest(
            method: "POST", url: url,
            headers: [HttpHeader(name: "content-type",
                                 value: "application/x-www-form-urlencoded")],
            body: Data(body.utf8))
        guard let response = try? context.transport.send(request: request) else { return false }
        return (200..<300).contains(Int(response.status))
    }
}
