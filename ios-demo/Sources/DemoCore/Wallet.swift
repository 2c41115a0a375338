import DinhdanhFFI
import Foundation

/// The display name of a credential kind (the issuer's configuration ids), Vietnamese and
/// English; unknown kinds show their type.
public func displayName(configurationId: String?, vct: String) -> String {
    switch configurationId {
    case "pid": return "Căn cước (Personal ID)"
    case "driving_licence": return "Giấy phép lái xe (Driving licence)"
    case "health_insurance": return "Bảo hiểm y tế (Health insurance)"
    case "vehicle_registration": return "Đăng ký xe (Vehicle registration)"
    case "judicial_record": return "Lý lịch tư pháp (Judicial record)"
    default: return vct
    }
}

/// The phone's wallet: the FFI's `Wallet` (credentials encrypted at rest, keys in the platform
/// keystore) with what the screens share: the transport, the clock and the agency's roots.
public final class WalletContext: @unchecked Sendable {
    public let wallet: Wallet
    public let transport: Transport
    public let clock: Clock

    /// Opens (or creates) the wallet file at `path`, its data key wrapped by the keystore key
    /// `wrappingAlias`; credentials must chain to `issuerRootsPEM`, requests to `verifierRootsPEM`.
    public init(path: String, keyStore: KeyStore, wrappingAlias: String = "wallet",
                issuerRootsPEM: String, verifierRootsPEM: String,
                transport: Transport, clock: @escaping Clock = systemClock) throws {
        wallet = try Wallet.open(path: path, keystore: keyStore, wrappingAlias: wrappingAlias,
                                 issuerAnchorsPem: issuerRootsPEM,
                                 verifierAnchorsPem: verifierRootsPEM)
        self.transport = transport
        self.clock = clock
    }

    /// Takes the wallet's trust from the agency: its bundle (`/trust/bundle`, verified against
    /// the agency roots the app pins) and the relying parties' status list the bundle names, so
    /// that a relying party the agency revoked is refused.
    @discardableResult
    public func updateTrust(api: ServerAPI, agencyRootsPEM: String) throws -> TrustBundleSummary {
        let bundle = try wallet.applyTrustBundle(
            jwt: api.text("/trust/bundle"), agencyRootsPem: agencyRootsPEM, now: clock())
        if let url = bundle.rpStatusListUrl {
            // Fetched from the agency's server only.
            guard url.hasPrefix(api.baseURL + "/") else {
                throw APIError.malformed("the relying parties' status list is elsewhere: \(url)")
            }
            let path = String(url.dropFirst(api.baseURL.count))
            try wallet.refreshRpStatusList(token: api.text(path), now: clock())
        }
        return bundle
    }
}

/// The wallet screen: the credentials held, with their copies left.
public final class WalletModel: ScreenModel {
    public struct Row: Equatable {
        public let id: String
        public let name: String
        public let vct: String
        public let issuer: String
        public let expiresAt: UInt64?
        public let expired: Bool
        public let unusedCopies: UInt32
        public let copies: UInt32
        /// All copies presented: receive the credential again for unlinkable presentations.
        public var needsRefresh: Bool { unusedCopies == 0 }
    }

    public private(set) var rows: [Row] = [] { didSet { onChange?() } }
    public private(set) var failure: FailureReason? { didSet { onChange?() } }
    public var onChange: (() -> Void)?
    private let context: WalletContext

    public init(context: WalletContext) { self.context = context }

    public func refresh() {
        do {
            let now = context.clock()
            rows = try context.wallet.credentials().map { c in
                Row(id: c.id, name: displayName(configurationId: c.configurationId, vct: c.vct),
                    vct: c.vct, issuer: c.issuer, expiresAt: c.expiresAt,
                    expired: c.expiresAt.map { $0 <= now } ?? false,
                    unusedCopies: c.unusedCopies, copies: c.copies)
            }
            failure = nil
        } catch { failure = FailureReason(error) }
    }

    /// Deletes a credential and its keys.
    public func remove(id: String) {
        do { try context.wallet.remove(id: id); refresh() } catch {
            failure = FailureReason(error)
        }
    }
}

/// Receiving an offer: a scanned `openid-credential-offer://` with the transaction code the
/// citizen was given, or one the citizen asks the server for (level 2).
public final class OfferModel: ScreenModel {
    public enum State: Equatable {
        case idle
        /// An offer waiting for its transaction code.
        case offered(uri: String, configurations: [String])
        case received(ids: [String])
        case failed(FailureReason)
    }

    public private(set) var state: State = .idle { didSet { onChange?() } }
    public var onChange: (() -> Void)?
    private let context: WalletContext
    private let api: ServerAPI?
    /// Copies of each credential (each presented once, so presentations do not link).
    public var copies: UInt32 = 3

    public init(context: WalletContext, api: ServerAPI? = nil) {
        self.context = context
        self.api = api
    }

    /// Asks the server for an offer of `configurations` to the signed-in level-2 citizen; the
    /// transaction code comes back with it (shown once).
    public func request(configurations: [String]) -> (uri: String, txCode: String)? {
        guard let api else { state = .failed(.notAvailable("no server")); return nil }
        do {
            let offer = try api.object(
                "POST", "/v1/me/offers", json: ["credential_configuration_ids": configurations])
            let uri = try string(offer, "offer_uri")
            state = .offered(uri: uri, configurations: configurations)
            return (uri, try string(offer, "tx_code"))
        } catch { state = .failed(FailureReason(error)); return nil }
    }

    /// A scanned offer.
    public func scanned(uri: String) {
        guard uri.hasPrefix("openid-credential-offer://") else {
            state = .failed(.invalidInput("not a credential offer"))
            return
        }
        state = .offered(uri: uri, configurations: [])
    }

    /// Redeems the offer with the code the citizen typed.
    public func accept(txCode: String?) {
        guard case .offered(let uri, _) = state else { return }
        do {
            let ids = try context.wallet.receiveOffer(
                transport: context.transport, offerUri: uri, txCode: txCode, copies: copies,
                now: context.clock())
            state = .received(ids: ids)
        } catch { state = .failed(FailureReason(error)) }
    }
}

/// History: what the server recorded about the account (sign-ins, staff views of the record,
/// issuance) and the wallet's own presentation log (offline ones included).
public final class HistoryModel: ScreenModel {
    public struct ServerEntry: Equatable {
        public let at: String
        public let action: String
        public let actor: String
    }

    public private(set) var server: [ServerEntry] = [] { didSet { onChange?() } }
    public private(set) var presentations: [PresentationLogEntry] = [] { didSet { onChange?() } }
    public private(set) var failure: FailureReason? { didSet { onChange?() } }
    public var onChange: (() -> Void)?
    private let api: ServerAPI?
    private let context: WalletContext

    public init(context: WalletContext, api: ServerAPI?) {
        self.context = context
        self.api = api
    }

    public func refresh() {
        do {
            presentations = try context.wallet.presentations().reversed()
            if let api, api.token != nil {
                server = try api.array("/v1/me/history").map {
                    ServerEntry(at: $0["at"] as? String ?? "", action: $0["action"] as? String ?? "",
                                actor: $0["actor"] as? String ?? "")
                }
            }
            failure = nil
        } catch { failure = FailureReason(error) }
    }
}
