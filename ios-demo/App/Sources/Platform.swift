// The phone's services behind DemoCore's protocols: passkeys through AuthenticationServices,
// the ID card's chip through CoreNFC (NFCPassportReader: BAC / PACE and secure messaging).
import AuthenticationServices
import DemoCore
import Foundation
import NFCPassportReader
import UIKit

/// Passkeys of the server's relying party (its `rpId`; the app is associated with the domain
/// through `webcredentials:` and the server's apple-app-site-association). DemoCore calls it
/// off the main thread and waits; the system sheet runs on the main thread.
final class PlatformPasskeys: NSObject, PasskeyAuthenticator,
    ASAuthorizationControllerDelegate, ASAuthorizationControllerPresentationContextProviding {
    private var completion: ((Result<String, Error>) -> Void)?
    private let anchor: () -> ASPresentationAnchor

    init(anchor: @escaping () -> ASPresentationAnchor) { self.anchor = anchor }

    func register(optionsJSON: String) throws -> String {
        let options = try publicKey(optionsJSON)
        let user = options["user"] as? [String: Any] ?? [:]
        let provider = ASAuthorizationPlatformPublicKeyCredentialProvider(
            relyingPartyIdentifier: (options["rp"] as? [String: Any])?["id"] as? String ?? "")
        let request = provider.createCredentialRegistrationRequest(
            challenge: try bytes(options["challenge"]), name: user["name"] as? String ?? "",
            userID: try bytes(user["id"]))
        request.userVerificationPreference = .required
        return try perform(request)
    }

    func assert(optionsJSON: String) throws -> String {
        let options = try publicKey(optionsJSON)
        let provider = ASAuthorizationPlatformPublicKeyCredentialProvider(
            relyingPartyIdentifier: options["rpId"] as? String ?? "")
        let request = provider.createCredentialAssertionRequest(challenge: try bytes(options["challenge"]))
        request.userVerificationPreference = .required
        return try perform(request)
    }

    private func perform(_ request: ASAuthorizationRequest) throws -> String {
        let done = DispatchSemaphore(value: 0)
        var result: Result<String, Error> = .failure(CancellationError())
        DispatchQueue.main.async {
            self.completion = { result = $0; done.signal() }
            let controller = ASAuthorizationController(authorizationRequests: [request])
            controller.delegate = self
            controller.presentationContextProvider = self
            controller.performRequests()
        }
        done.wait()
        return try result.get()
    }

    func presentationAnchor(for controller: ASAuthorizationController) -> ASPresentationAnchor { anchor() }

    func authorizationController(controller: ASAuthorizationController,
                                 didCompleteWithAuthorization authorization: ASAuthorization) {
        let b64 = { (data: Data) in data.base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "") }
        var json: [String: Any]
        switch authorization.credential {
        case let created as ASAuthorizationPlatformPublicKeyCredentialRegistration:
            json = ["id": b64(created.credentialID), "rawId": b64(created.credentialID),
                    "type": "public-key", "extensions": [String: Any](),
                    "response": ["clientDataJSON": b64(created.rawClientDataJSON),
                                 "attestationObject": b64(created.rawAttestationObject ?? Data())]]
        case let asserted as ASAuthorizationPlatformPublicKeyCredentialAssertion:
            json = ["id": b64(asserted.credentialID), "rawId": b64(asserted.credentialID),
                    "type": "public-key", "extensions": [String: Any](),
                    "response": ["clientDataJSON": b64(asserted.rawClientDataJSON),
                                 "authenticatorData": b64(asserted.rawAuthenticatorData),
                                 "signature": b64(asserted.signature),
                                 "userHandle": b64(asserted.userID)]]
        default:
            completion?(.failure(CancellationError()))
            return
        }
        completion?(Result {
            String(decoding: try JSONSerialization.data(withJSONObject: json), as: UTF8.self)
        })
    }

    func authorizationController(controller: ASAuthorizationController,
                                 didCompleteWithError error: Error) {
        completion?(.failure(error))
    }

    private func publicKey(_ text: String) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
              let publicKey = object["publicKey"] as? [String: Any]
        else { throw CocoaError(.coderReadCorrupt) }
        return publicKey
    }

    private func bytes(_ value: Any?) throws -> Data {
        guard var text = value as? String else { throw CocoaError(.coderReadCorrupt) }
        text = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        text += String(repeating: "=", count: (4 - text.count % 4) % 4)
        guard let data = Data(base64Encoded: text) else { throw CocoaError(.coderReadCorrupt) }
        return data
    }
}

/// The ID card's chip over NFC: the access key from the MRZ (document number, birth and expiry
/// dates with their check digits), then DG1, DG2, DG13 and EF.SOD as stored on the chip.
final class NFCChipReader: ChipReader {
    private let reader = PassportReader()

    func read(key: ChipAccessKey, completion: @escaping (Result<ChipFiles, Error>) -> Void) {
        let mrzKey = Self.mrzKey(key)
        Task {
            do {
                let chip = try await reader.readPassport(
                    mrzKey: mrzKey, tags: [.DG1, .DG2, .DG13, .SOD],
                    customDisplayMessage: { message in
                        switch message {
                        case .requestPresentPassport: return "Đặt thẻ căn cước sát mặt sau điện thoại"
                        case .successfulRead: return "Đã đọc chip"
                        default: return nil
                        }
                    })
                func file(_ id: DataGroupId) throws -> Data {
                    guard let group = chip.dataGroupsRead[id] else { throw CocoaError(.fileReadNoSuchFile) }
                    return Data(group.data)
                }
                completion(.success(ChipFiles(dg1: try file(.DG1), dg2: try file(.DG2),
                                              dg13: try file(.DG13), sod: try file(.SOD))))
            } catch { completion(.failure(error)) }
        }
    }

    /// ICAO 9303 part 4: each field followed by its check digit (weights 7, 3, 1).
    static func mrzKey(_ key: ChipAccessKey) -> String {
        func check(_ field: String) -> String {
            let weights = [7, 3, 1]
            var sum = 0
            for (i, c) in field.uppercased().enumerated() {
                let value: Int
                if let digit = c.wholeNumberValue { value = digit }
                else if let ascii = c.asciiValue, c.isLetter { value = Int(ascii) - 55 }
                else { value = 0 }  // '<'
                sum += value * weights[i % 3]
            }
            return field + String(sum % 10)
        }
        var number = key.documentNumber.uppercased()
        while number.count < 9 { number += "<" }
        return check(number) + check(key.dateOfBirth) + check(key.dateOfExpiry)
    }
}
