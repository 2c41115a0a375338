// The wallet's keys in the Secure Enclave: P-256 signing keys (credential holder keys, the DPoP
// key) that never leave it, used only after Face ID / Touch ID for credential keys; and the
// wrapping key of the wallet file's data key, a Secure Enclave key-agreement key (the enclave
// has no AES): a secret is sealed with AES-GCM under a key derived (HKDF-SHA256) from ECDH
// between the enclave key and an ephemeral key. The keys' opaque handles (the enclave's
// `dataRepresentation`, useless elsewhere) are kept in the keychain, this device only.
import CryptoKit
import DinhdanhFFI
import Foundation
import LocalAuthentication
import Security

final class SecureEnclaveKeyStore: KeyStore, @unchecked Sendable {
    private let service = "vn.dinhdanh.wallet.keys"
    /// Aliases whose use needs no biometry each time (the wallet's own wrapping and DPoP keys:
    /// the device must be unlocked).
    private let quiet: Set<String> = ["wallet", "dpop"]

    func generateSigningKey(alias: String) throws {
        guard try load(alias) == nil else { throw KeyStoreFailure.Refused(reason: "\(alias) exists") }
        let key = try SecureEnclave.P256.Signing.PrivateKey(accessControl: access(alias))
        try save(alias, kind: "s", key.dataRepresentation)
    }

    func publicKey(alias: String) throws -> Data {
        try signingKey(alias).publicKey.x963Representation
    }

    func sign(alias: String, message: Data) throws -> Data {
        let key = try signingKey(alias)
        do {
            return try key.signature(for: message).derRepresentation
        } catch {
            throw KeyStoreFailure.Refused(reason: "\(error)")  // cancelled, locked, …
        }
    }

    func generateWrappingKey(alias: String) throws {
        guard try load(alias) == nil else { throw KeyStoreFailure.Refused(reason: "\(alias) exists") }
        let key = try SecureEnclave.P256.KeyAgreement.PrivateKey(accessControl: access(alias))
        try save(alias, kind: "w", key.dataRepresentation)
    }

    func wrap(alias: String, secret: Data) throws -> Data {
        let key = try agreementKey(alias)
        let ephemeral = P256.KeyAgreement.PrivateKey()
        let sealed = try AES.GCM.seal(
            secret, using: derive(try ephemeral.sharedSecretFromKeyAgreement(with: key.publicKey),
                                  ephemeral.publicKey))
        guard let combined = sealed.combined else { throw KeyStoreFailure.Refused(reason: "seal") }
        return ephemeral.publicKey.x963Representation + combined
    }

    func unwrap(alias: String, wrapped: Data) throws -> Data {
        guard wrapped.count > 65 + 28 else { throw KeyStoreFailure.Unwrap }
        let key = try agreementKey(alias)
        do {
            let ephemeral = try P256.KeyAgreement.PublicKey(x963Representation: wrapped.prefix(65))
            let box = try AES.GCM.SealedBox(combined: wrapped.dropFirst(65))
            return try AES.GCM.open(
                box, using: derive(try key.sharedSecretFromKeyAgreement(with: ephemeral), ephemeral))
        } catch { throw KeyStoreFailure.Unwrap }
    }

    func contains(alias: String) throws -> Bool { try load(alias) != nil }

    func delete(alias: String) throws {
        SecItemDelete([kSecClass: kSecClassGenericPassword, kSecAttrService: service,
                       kSecAttrAccount: alias] as CFDictionary)
    }

    // MARK: -

    private func derive(_ secret: SharedSecret, _ ephemeral: P256.KeyAgreement.PublicKey) -> SymmetricKey {
        secret.hkdfDerivedSymmetricKey(using: SHA256.self, salt: ephemeral.x963Representation,
                                       sharedInfo: Data("dinhdanh wallet wrap v1".utf8),
                                       outputByteCount: 32)
    }

    private func access(_ alias: String) throws -> SecAccessControl {
        var flags: SecAccessControlCreateFlags = [.privateKeyUsage]
        if !quiet.contains(alias) { flags.insert(.biometryCurrentSet) }
        var error: Unmanaged<CFError>?
        guard let control = SecAccessControlCreateWithFlags(
            nil, kSecAttrAccessibleWhenUnlockedThisDeviceOnly, flags, &error)
        else { throw KeyStoreFailure.Refused(reason: "access control: \(String(describing: error))") }
        return control
    }

    private func signingKey(_ alias: String) throws -> SecureEnclave.P256.Signing.PrivateKey {
        guard let (kind, data) = try load(alias), kind == "s" else {
            throw KeyStoreFailure.NotFound(alias: alias)
        }
        let context = LAContext()
        context.localizedReason = "Xác nhận trình bày giấy tờ"
        return try SecureEnclave.P256.Signing.PrivateKey(
            dataRepresentation: data, authenticationContext: context)
    }

    private func agreementKey(_ alias: String) throws -> SecureEnclave.P256.KeyAgreement.PrivateKey {
        guard let (kind, data) = try load(alias), kind == "w" else {
            throw KeyStoreFailure.NotFound(alias: alias)
        }
        return try SecureEnclave.P256.KeyAgreement.PrivateKey(dataRepresentation: data)
    }

    private func save(_ alias: String, kind: String, _ data: Data) throws {
        let status = SecItemAdd([
            kSecClass: kSecClassGenericPassword, kSecAttrService: service, kSecAttrAccount: alias,
            kSecAttrLabel: kind, kSecValueData: data,
            kSecAttrAccessible: kSecAttrAccessibleWhenUnlockedThisDeviceOnly,
        ] as CFDictionary, nil)
        guard status == errSecSuccess else { throw KeyStoreFailure.Refused(reason: "keychain \(status)") }
    }

    private func load(_ alias: String) throws -> (String, Data)? {
        var item: CFTypeRef?
        let status = SecItemCopyMatching([
            kSecClass: kSecClassGenericPassword, kSecAttrService: service, kSecAttrAccount: alias,
            kSecReturnData: true, kSecReturnAttributes: true, kSecMatchLimit: kSecMatchLimitOne,
        ] as CFDictionary, &item)
        if status == errSecItemNotFound { return nil }
        guard status == errSecSuccess, let attributes = item as? [CFString: Any],
              let data = attributes[kSecValueData] as? Data,
              let kind = attributes[kSecAttrLabel] as? String
        else { throw KeyStoreFailure.Refused(reason: "keychain \(status)") }
        return (kind, data)
    }
}
