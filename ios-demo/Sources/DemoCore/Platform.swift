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

/// Signing documents with a key of the platform keystore (CSR, CMS / PDF / JWS) is the
/// signature issue's FFI (`sdk-signing`): the app passes its implementation when the bindings
/// carry it; without one the signing screen says so.
public protocol DocumentSigner: AnyObject {
    /// A PKCS#10 request (PEM) for the keystore key `alias` (made if missing).
    func certificateRequest(alias: String) throws -> String
    /// A detached CMS signature (DER) of `document` with `alias`, its chain PEM.
    func signCMS(alias: String, chainPEM: String, document: Data) throws -> Data
}

/// A change of a screen's state: every view model calls its `onChange` after each change
/// (the SwiftUI app forwards it to `objectWillChange`; tests read the state directly).
public protocol ScreenModel: AnyObject {
    var onChange: (() -> Void)? { get set }
}

/// Why something failed, as a screen shows it (from the FFI's typed errors and the API's).
public enum FailureReason: Equatable, Sendable {
    case revoked, suspended, expired, forged, untrustedIssuer, staleTrustData
    case untrustedVerifier, unregisteredVerifier, requestRefused(String), refused(String)
    case noMatchingCredential, replayed, network(String), keyStore(String), storage(String)
    case invalidInput(String), server(status: Int, type: String, detail: String?)
    case notAvailable(String)

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
        }
    }
}
