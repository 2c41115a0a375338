import DinhdanhFFI
import Foundation

/// Enrolment (level 1): the citizen's details, the code sent to a phone the registry lists for
/// them, then a passkey on this phone. The server answers a start the same whether or not the
/// details match anyone, so the screen never says more than "a code was sent if …".
public final class EnrolmentModel: ScreenModel {
    public enum State: Equatable {
        case form
        case codeSent(enrolmentId: String, codeLength: Int)
        /// The account exists at level 1; its setup session may only register the passkey.
        case passkeyNeeded(ceremonyId: String)
        case enrolled(accountId: String, level: Int)
        case failed(FailureReason)
    }

    public private(set) var state: State = .form { didSet { onChange?() } }
    public var onChange: (() -> Void)?
    private let api: ServerAPI
    private var pendingRegistration: JSONObject?
    private var accountId = ""

    public init(api: ServerAPI) { self.api = api }

    public func start(idNumber: String, fullName: String, dateOfBirth: String, phone: String) {
        do {
            let started = try api.object("POST", "/v1/enrolments", json: [
                "id_number": idNumber, "full_name": fullName,
                "date_of_birth": dateOfBirth, "phone": phone,
            ])
            state = .codeSent(enrolmentId: try string(started, "enrolment_id"),
                              codeLength: started["code_length"] as? Int ?? 6)
        } catch { state = .failed(FailureReason(error)) }
    }

    public func confirm(code: String) {
        guard case .codeSent(let enrolment, _) = state else { return }
        do {
            let confirmed = try api.object(
                "POST", "/v1/enrolments/\(enrolment)/confirm", json: ["code": code])
            api.token = try string(confirmed, "token")
            accountId = try string(confirmed, "account_id")
            guard let registration = confirmed["passkey_registration"] as? JSONObject else {
                throw APIError.malformed("no passkey registration")
            }
            pendingRegistration = registration
            state = .passkeyNeeded(ceremonyId: try string(registration, "ceremony_id"))
        } catch let error as APIError where error.problemType == "invalid-code" {
            // A wrong code: the citizen may type it again (the server counts attempts).
            state = .failed(FailureReason(error))
            state = .codeSent(enrolmentId: enrolment, codeLength: 6)
        } catch { state = .failed(FailureReason(error)) }
    }

    /// Registers this phone's passkey; the citizen session that follows is kept in `api`.
    public func registerPasskey(with authenticator: PasskeyAuthenticator, name: String) {
        guard let registration = pendingRegistration,
              let options = registration["options"] else { return }
        do {
            let credential = try authenticator.register(optionsJSON: try jsonText(options))
            let ceremony = try string(registration, "ceremony_id")
            let registered = try api.object(
                "POST", "/v1/passkeys/registrations/\(ceremony)",
                json: ["credential": try jsonObject(credential), "name": name])
            guard let session = registered["session"] as? JSONObject else {
                throw APIError.malformed("no session")
            }
            api.token = try string(session, "token")
            pendingRegistration = nil
            state = .enrolled(accountId: accountId,
                              level: session["assurance_level"] as? Int ?? 1)
        } catch { state = .failed(FailureReason(error)) }
    }
}

/// Sign-in with the phone's passkey.
public final class SignInModel: ScreenModel {
    public enum State: Equatable {
        case signedOut
        case signedIn(accountId: String, level: Int)
        case failed(FailureReason)
    }

    public private(set) var state: State = .signedOut { didSet { onChange?() } }
    public var onChange: (() -> Void)?
    private let api: ServerAPI

    public init(api: ServerAPI) { self.api = api }

    public func signIn(with authenticator: PasskeyAuthenticator) {
        do {
            let started = try api.object("POST", "/v1/sessions/passkey")
            let assertion = try authenticator.assert(
                optionsJSON: try jsonText(started["options"] ?? [:]))
            let ceremony = try string(started, "ceremony_id")
            let session = try api.object(
                "POST", "/v1/sessions/passkey/\(ceremony)",
                json: ["credential": try jsonObject(assertion)])
            api.token = try string(session, "token")
            state = .signedIn(accountId: try string(session, "account_id"),
                              level: session["assurance_level"] as? Int ?? 1)
        } catch { state = .failed(FailureReason(error)) }
    }

    public func signOut() {
        _ = try? api.send("DELETE", "/v1/sessions/current")
        api.token = nil
        state = .signedOut
    }
}

/// Level 2: the ID card's chip read over NFC with the key from its MRZ, uploaded; an officer
/// then approves in person (the screen shows the request's state).
public final class Level2Model: ScreenModel {
    public enum State: Equatable {
        case idle
        case reading
        /// Uploaded: passive authentication and the registry comparison as the server found them.
        case submitted(requestId: String, status: String, chipValid: Bool, registryMatches: Bool)
        case failed(FailureReason)
    }

    public private(set) var state: State = .idle { didSet { onChange?() } }
    public var onChange: (() -> Void)?
    private let api: ServerAPI

    public init(api: ServerAPI) { self.api = api }

    /// Reads the chip and uploads its files.
    public func readAndSubmit(reader: ChipReader, key: ChipAccessKey,
                              completion: (() -> Void)? = nil) {
        state = .reading
        reader.read(key: key) { [weak self] result in
            defer { completion?() }
            guard let self else { return }
            switch result {
            case .success(let files): self.submit(files)
            case .failure(let error): self.state = .failed(.invalidInput("chip: \(error)"))
            }
        }
    }

    /// Uploads chip files already read.
    public func submit(_ files: ChipFiles) {
        do {
            let view = try api.object("POST", "/v1/me/level2", json: [
                "dg1": files.dg1.base64EncodedString(), "dg2": files.dg2.base64EncodedString(),
                "dg13": files.dg13.base64EncodedString(), "sod": files.sod.base64EncodedString(),
            ])
            state = Self.submitted(view)
        } catch { state = .failed(FailureReason(error)) }
    }

    /// The latest request's state (an officer may have decided since).
    public func refresh() {
        do { state = Self.submitted(try api.object("GET", "/v1/me/level2")) } catch {
            state = .failed(FailureReason(error))
        }
    }

    private static func submitted(_ view: JSONObject) -> State {
        let chip = view["chip"] as? JSONObject
        let registry = view["registry"] as? JSONObject
        return .submitted(
            requestId: view["id"] as? String ?? "", status: view["status"] as? String ?? "",
            chipValid: chip != nil,
            registryMatches: registry?["all"] as? Bool ?? false)
    }
}
