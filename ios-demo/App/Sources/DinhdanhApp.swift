// The iOS demo app: SwiftUI screens over DemoCore's view models. Everything the screens decide
// lives in DemoCore (tested on Linux with swift test); this target holds only what needs iOS:
// the views, the Secure Enclave keystore, passkeys, the NFC chip reader, QR codes.
import DemoCore
import DinhdanhFFI
import SwiftUI
import UIKit

/// A DemoCore view model as SwiftUI state: its `onChange` becomes `objectWillChange`.
final class Observed<Model: ScreenModel>: ObservableObject {
    let model: Model
    init(_ model: Model) {
        self.model = model
        model.onChange = { [weak self] in
            if Thread.isMainThread { self?.objectWillChange.send() } else {
                DispatchQueue.main.async { self?.objectWillChange.send() }
            }
        }
    }
}

/// Runs a DemoCore call off the main thread (the SDK and the API client are synchronous).
func background(_ work: @escaping () -> Void) {
    DispatchQueue.global(qos: .userInitiated).async(execute: work)
}

/// What the screens share: the server, the wallet, the phone's services.
final class AppEnvironment: ObservableObject {
    let transport = URLSessionTransport()
    let api: ServerAPI
    let keyStore = SecureEnclaveKeyStore()
    let passkeys = PlatformPasskeys(anchor: {
        UIApplication.shared.connectedScenes.compactMap { ($0 as? UIWindowScene)?.keyWindow }.first
            ?? UIWindow()
    })
    let chipReader = NFCChipReader()
    @Published var context: WalletContext?
    @Published var capabilities = Capabilities(paths: [])
    @Published var failure: String?

    init() {
        let url = Bundle.main.object(forInfoDictionaryKey: "DinhdanhServerURL") as? String
            ?? "https://id.dinhdanh.example"
        api = ServerAPI(baseURL: url, transport: transport)
    }

    /// Opens the wallet with the agency's roots (fetched once, then kept with the app).
    func start() {
        background { [self] in
            do {
                let caps = try api.capabilities()
                let roots = try cachedRoots()
                let directory = try FileManager.default.url(
                    for: .applicationSupportDirectory, in: .userDomainMask, appropriateFor: nil,
                    create: true)
                let context = try WalletContext(
                    path: directory.appendingPathComponent("wallet.db").path, keyStore: keyStore,
                    issuerRootsPEM: roots.issuer, verifierRootsPEM: roots.verifiers,
                    transport: transport)
                // The trust bundle (roots, revoked relying parties), refreshed at each start;
                // offline, the wallet keeps the last one it applied.
                _ = try? context.updateTrust(api: api, agencyRootsPEM: roots.issuer)
                DispatchQueue.main.async {
                    self.capabilities = caps
                    self.context = context
                }
            } catch {
                DispatchQueue.main.async { self.failure = FailureReason(error).message }
            }
        }
    }

    private func cachedRoots() throws -> (issuer: String, verifiers: String) {
        let defaults = UserDefaults.standard
        if let issuer = defaults.string(forKey: "issuer-root"),
           let verifiers = defaults.string(forKey: "rp-root") {
            return (issuer, verifiers)
        }
        let issuer = try api.text("/trust/issuer-root.pem")
        // The relying-party CA.
        let verifiers = try api.text("/trust/rp-root.pem")
        defaults.set(issuer, forKey: "issuer-root")
        defaults.set(verifiers, forKey: "rp-root")
        return (issuer, verifiers)
    }
}

@main
struct DinhdanhWalletApp: App {
    @StateObject private var environment = AppEnvironment()

    var body: some Scene {
        WindowGroup {
            Group {
                if let context = environment.context {
                    MainTabs(context: context)
                } else if let failure = environment.failure {
                    Text(failure).padding()
                } else {
                    ProgressView("Đang mở ví…")
                }
            }
            .environmentObject(environment)
            .onAppear { environment.start() }
        }
    }
}

struct MainTabs: View {
    @EnvironmentObject var environment: AppEnvironment
    let context: WalletContext

    var body: some View {
        TabView {
            NavigationStack { AccountScreen() }
                .tabItem { Label("Tài khoản", systemImage: "person.crop.circle") }
            NavigationStack { WalletScreen(context: context) }
                .tabItem { Label("Ví", systemImage: "wallet.pass") }
            NavigationStack { PresentScreen(context: context) }
                .tabItem { Label("Trình bày", systemImage: "qrcode.viewfinder") }
            NavigationStack { MoreScreen(context: context) }
                .tabItem { Label("Khác", systemImage: "ellipsis.circle") }
        }
    }
}
