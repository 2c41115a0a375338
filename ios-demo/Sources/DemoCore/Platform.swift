import DinhdanhFFI
import Foundation

/// The phone's passkey authenticator (AuthenticationServices on iOS): WebAuthn options as the
/// server sent them (`{"publicKey": {…}}`, JSON text) in, the `PublicKeyCredential` JSON a
/// browser would post out.
public protocol PasskeyAuthenticator: AnyObject {
    func register(optionsJSON: String) throws -> String
    func assert(optionsJSON: String) throws -> String
}

/// The files read from an ID card's chip (ICAO 9303 data groups and the document security
/// object), raw bytes as on the chip.
public struct ChipFiles: Equatable, Sendable {
    public var dg1: Data
    public var dg2: Data
    public var dg13: Data
    public var sod: Data
    public init(dg1: Data, dg2: Data, dg13: Data, sod: Data) {
        self.dg1 = dg1; self.dg2 = dg2; self.dg13 = dg13; self.sod = sod
    }
}

/// What opens the chip (BAC / PACE): from the card's machine-readable zone.
public struct ChipAccessKey: Equatable, Sendable {
    public var documentNumber: String
    /// YYMMDD.
    public var dateOfBirth: String
    /// YYMMDD.
    public var dateOfExpiry: String
    public init(documentNumber: String, dateOfBirth: String, dateOfExpiry: String) {
        self.documentNumber = documentNumber
        self.dateOfBirth = dateOfBirth
        self.dateOfExpiry = dateOfExpiry
    }
}

/// The phone's NFC chip reader (CoreNFC on iOS).
public protocol ChipReader: AnyObject {
    func read(key: ChipAccessKey, completion: @escaping (Result<ChipFiles, Error>) -> Void)
}

/// What the signing screen needs of the phone: a certification request for a key of the
/// platform keystore, and signatures made with it (the app passes `KeyStoreSigning`; tests may
/// pass their own).
public protocol DocumentSigning: AnyObject {
    /// A PKCS#10 request (PEM) for the keystore key `alias` (made if missing).
    func certificateRequest(alias: String) throws -> String
    /// A detached CMS signature (DER, CAdES B-B) of `document` with `alias`, its chain PEM.
    func signCMS(alias: String, chainPEM: String, document: Data) throws -> Data
    /// `pdf` signed by an incremental update (PAdES B-B) with `alias`, its chain PEM.
    func signPDF(alias: String, chainPEM: String, pdf: Data) throws -> Data
}

/// Signing through the FFI (`signingCertificateRequest`, `DocumentSigner`): the key stays in
/// the platform keystore (the Secure Enclave on a phone), which signs each digest.
public final class KeyStoreSigning: DocumentSigning {
    private let keyStore: KeyStore
    private let clock: Clock

    public init(keyStore: KeyStore, clock: @escaping Clock = systemClock) {
        self.keyStore = keyStore
        self.clock = clock
    }

    public func certificateRequest(alias: String) throws -> String {
        if !(try keyStore.contains(alias: alias)) {
            try keyStore.generateSigningKey(alias: alias)
        }
        return try signingCertificateRequest(keystore: keyStore, alias: alias)
    }

    public func signCMS(alias: String, chainPEM: String, document: Data) throws -> Data {
        try DinhdanhFFI.DocumentSigner(keystore: keyStore, alias: alias, chainPem: chainPEM)
            .signCms(document: document, now: clock())
    }

    public func signPDF(alias: String, chainPEM: String, pdf: Data) throws -> Data {
        try DinhdanhFFI.DocumentSigner(keystore: keyStore, alias: alias, chainPem: chainPEM)
            .signPdf(pdf: pdf, now: clock())
    }
}

/// A change of a screen's state: every view model calls its `onChange` after each change
/// (the SwiftUI app forwards it to `objectWillChange`; tests read the state directly).
public protocol ScreenModel: AnyObject {
    var onChange: (() -> Void)? { get set }
}

/// Why something failed, as a screen shows it (from the FFI's typed errors and the API's).
public enum FailureReason: Equatable, Sendable {
    case revoked, suspended, expired, forged, untrustedIssuer, staleTrustData
    case untrustedVerifier, unregisteredVerifier, revokedVerifier(String)
    case requestRefused(String), refused(String)
    case noMatchingCredential, replayed, network(String), keyStore(String), storage(String)
    case invalidInput(String), server(status: Int, type: String, detail: String?)
    case notAvailable(String)
    /// Signing: the document is encrypted; the certificate does not certify the key; the
    /// time-stamp authority failed.
    case encryptedDocument, certificateMismatch(String), timestamp(String)

    /// The reason of any error the models meet.
    public init(_ error: Error) {
        switch error {
        case let error as DinhdanhError:
            switch error {
            case .Revoked: self = .revoked
            case .Suspended: self = .suspended
            case .Expired: self = .expired
            case .Forged: self = .forged
            case .UntrustedIssuer: self = .untrustedIssuer
            case .StaleTrustData: self = .staleTrustData
            case .UntrustedVerifier: self = .untrustedVerifier
            case .UnregisteredVerifier: self = .unregisteredVerifier
            case .Unregistered: self = .unregisteredVerifier
            case .RevokedVerifier(let verifier): self = .revokedVerifier(verifier)
            case .EncryptedDocument: self = .encryptedDocument
            case .CertificateMismatch(let reason): self = .certificateMismatch(reason)
            case .Timestamp(let reason): self = .timestamp(reason)
            case .RequestRefused(let reason, _, _): self = .requestRefused(reason)
            case .Refused(let reason): self = .refused(reason)
            case .Network(let reason): self = .network(reason)
            case .KeyStore(let reason): self = .keyStore(reason)
            case .Storage(let reason): self = .storage(reason)
            case .NoMatch: self = .noMatchingCredential
            case .Replayed: self = .replayed
            case .InvalidInput(let reason): self = .invalidInput(reason)
            }
        case let error as APIError:
            switch error {
            case .problem(let status, let type, _, let detail):
                self = .server(status: status, type: error.problemType ?? type, detail: detail)
            case .network(let reason): self = .network(reason)
            case .malformed(let reason): self = .invalidInput(reason)
            case .notSignedIn: self = .notAvailable("sign in first")
            }
        default:
            self = .invalidInput("\(error)")
        }
    }

    /// A sentence for the citizen (Vietnamese first, as the app is).
    public var message: String {
        switch self {
        case .revoked: return "Giấy tờ đã bị thu hồi (revoked)"
        case .suspended: return "Giấy tờ đang bị tạm dừng (suspended)"
        case .expired: return "Giấy tờ đã hết hạn (expired)"
        case .forged: return "Chữ ký không hợp lệ (forged or altered)"
        case .untrustedIssuer: return "Nơi cấp không được tin cậy (untrusted issuer)"
        case .staleTrustData: return "Cần cập nhật dữ liệu tin cậy (refresh trust data)"
        case .untrustedVerifier: return "Bên yêu cầu không được xác thực (untrusted verifier)"
        case .unregisteredVerifier: return "Bên yêu cầu chưa đăng ký với cơ quan cấp (unregistered)"
        case .revokedVerifier(let verifier):
            return "Bên yêu cầu đã bị cơ quan cấp thu hồi đăng ký: \(verifier) (revoked)"
        case .requestRefused(let reason): return "Yêu cầu bị từ chối: \(reason)"
        case .refused(let reason): return "Bị từ chối: \(reason)"
        case .noMatchingCredential: return "Không có giấy tờ phù hợp (no matching credential)"
        case .replayed: return "Câu trả lời đã được dùng (replayed)"
        case .network(let reason): return "Lỗi mạng: \(reason)"
        case .keyStore(let reason): return "Lỗi khóa thiết bị: \(reason)"
        case .storage(let reason): return "Lỗi lưu trữ: \(reason)"
        case .invalidInput(let reason): return "Dữ liệu không hợp lệ: \(reason)"
        case .server(let status, let type, let detail):
            return "Máy chủ trả lời \(status) \(type)" + (detail.map { ": \($0)" } ?? "")
        case .notAvailable(let reason): return "Chưa có: \(reason)"
        case .encryptedDocument: return "Tài liệu đã được mã hóa, không ký được (encrypted)"
        case .certificateMismatch(let reason): return "Chứng thư không khớp với khóa: \(reason)"
        case .timestamp(let reason): return "Lỗi dấu thời gian: \(reason)"
        }
    }
}
