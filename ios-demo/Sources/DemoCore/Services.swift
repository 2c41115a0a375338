import DinhdanhFFI
import Foundation

/// My SIM numbers: every number registered to the citizen across operators, each marked
/// `mine` or `not_mine` (which opens a dispute the operator must answer). Enabled when the
/// server serves `GET /v1/me/subscriptions` (the telecom issue's contract).
public final class SimListModel: ScreenModel {
    public struct Number: Equatable {
        public let subscriptionId: String
        public let msisdn: String
        public let operatorName: String
        /// `active`, `reverification_required`, `terminated` or `ended`.
        public let state: String
        public let mark: String?
        public let disputeOpen: Bool
    }

    public enum State: Equatable {
        case unavailable
        case loaded([Number])
        case failed(FailureReason)
    }

    public private(set) var state: State = .unavailable { didSet { onChange?() } }
    public var onChange: (() -> Void)?
    private let api: ServerAPI
    private let enabled: Bool

    public init(api: ServerAPI, capabilities: Capabilities) {
        self.api = api
        enabled = capabilities.simList
    }

    public func refresh() {
        guard enabled else { state = .unavailable; return }
        do {
            state = .loaded(try api.array("/v1/me/subscriptions").map { n in
                let dispute = n["dispute"] as? JSONObject
                return Number(
                    subscriptionId: n["subscription_id"] as? String ?? "",
                    msisdn: n["msisdn"] as? String ?? "", operatorName: n["operator"] as? String ?? "",
                    state: n["state"] as? String ?? "", mark: n["mark"] as? String,
                    disputeOpen: dispute.map { ($0["state"] as? String) == "open" } ?? false)
            })
        } catch { state = .failed(FailureReason(error)) }
    }

    /// Marks a number `mine` (true) or `not_mine` (false).
    public func mark(subscriptionId: String, mine: Bool) {
        guard enabled else { return }
        do {
            try api.send("POST", "/v1/me/subscriptions/\(subscriptionId)/mark",
                         json: ["mark": mine ? "mine" : "not_mine"])
            refresh()
        } catch { state = .failed(FailureReason(error)) }
    }
}

/// Sign a document: a signing certificate for a key of the phone's keystore (level 2 and a
/// recent passkey sign-in: the server's step-up), then CMS signatures made offline. Enabled when
/// the server serves `/v1/me/signing-certificates` (the signature issue's contract) and the
/// app has a signer (`KeyStoreSigning`, over the signing FFI).
public final class SigningModel: ScreenModel {
    public struct Certificate: Equatable {
        public let id: String
        /// `valid`, `revoked` or `expired`.
        public let status: String
        public let notAfter: String
    }

    public enum State: Equatable {
        case unavailable(String)
        case ready(certificates: [Certificate])
        case certified(id: String, chainPEM: String)
        case signed(signature: Data)
        case failed(FailureReason)
    }

    public private(set) var state: State { didSet { onChange?() } }
    public var onChange: (() -> Void)?
    private let api: ServerAPI
    private let signer: DocumentSigning?
    private let enabled: Bool
    public let keyAlias = "signing/1"
    private var chainPEM: String?

    public init(api: ServerAPI, capabilities: Capabilities, signer: DocumentSigning?) {
        self.api = api
        self.signer = signer
        enabled = capabilities.signingCertificates && signer != nil
        state = !capabilities.signingCertificates
            ? .unavailable("the server issues no signing certificates yet")
            : signer == nil ? .unavailable("this build cannot sign yet") : .ready(certificates: [])
    }

    public func refresh() {
        guard enabled else { return }
        do {
            state = .ready(certificates: try api.array("/v1/me/signing-certificates").map {
                Certificate(id: $0["id"] as? String ?? "", status: $0["status"] as? String ?? "",
                            notAfter: $0["not_after"] as? String ?? "")
            })
        } catch { state = .failed(FailureReason(error)) }
    }

    /// Asks for a certificate for the keystore key (sign in with the passkey just before).
    public func requestCertificate() {
        guard enabled, let signer else { return }
        do {
            let csr = try signer.certificateRequest(alias: keyAlias)
            let issued = try api.object("POST", "/v1/me/signing-certificates", json: ["csr": csr])
            let chain = try string(issued, "certificate_chain")
            chainPEM = chain
            state = .certified(id: try string(issued, "id"), chainPEM: chain)
        } catch { state = .failed(FailureReason(error)) }
    }

    /// Signs a document offline (detached CMS).
    public func sign(document: Data) {
        guard let signer, let chainPEM else { return }
        do {
            state = .signed(signature: try signer.signCMS(
                alias: keyAlias, chainPEM: chainPEM, document: document))
        } catch { state = .failed(FailureReason(error)) }
    }

    /// Signs a PDF offline (PAdES): `.signed` holds the signed PDF.
    public func sign(pdf: Data) {
        guard let signer, let chainPEM else { return }
        do {
            state = .signed(signature: try signer.signPDF(alias: keyAlias, chainPEM: chainPEM, pdf: pdf))
        } catch { state = .failed(FailureReason(error)) }
    }

    /// Checks a detached CMS signature of `document` against the agency's roots (PEM,
    /// `/trust/issuer-root.pem`), offline: who signed, when, or why it is refused.
    public static func verify(signature: Data, document: Data, anchorsPEM: String,
                              now: UInt64 = systemClock()) throws -> SignatureVerdict {
        try verifyCmsSignature(signature: signature, document: document, trust: SignatureTrust(
            anchorsPem: anchorsPEM, crl: nil, ocsp: nil, now: now, maxRevocationAge: 86_400))
    }
}
