// The screens: each one a DemoCore view model (state and actions) shown in SwiftUI.
import CoreImage.CIFilterBuiltins
import DemoCore
import DinhdanhFFI
import SwiftUI
import VisionKit

// MARK: - Account: enrol, passkey sign-in, level 2

struct AccountScreen: View {
    @EnvironmentObject var environment: AppEnvironment
    var body: some View {
        List {
            NavigationLink("Đăng ký tài khoản (enrol)") { EnrolScreen(api: environment.api) }
            NavigationLink("Đăng nhập bằng passkey") { SignInScreen(api: environment.api) }
            NavigationLink("Xác thực mức 2 (chip)") { Level2Screen(api: environment.api) }
        }
        .navigationTitle("Tài khoản")
    }
}

struct EnrolScreen: View {
    @EnvironmentObject var environment: AppEnvironment
    @StateObject private var screen: Observed<EnrolmentModel>
    @State private var idNumber = "", fullName = "", dateOfBirth = "", phone = "", code = ""

    init(api: ServerAPI) { _screen = StateObject(wrappedValue: Observed(EnrolmentModel(api: api))) }

    var body: some View {
        Form {
            switch screen.model.state {
            case .form, .failed:
                TextField("Số định danh (12 số)", text: $idNumber).keyboardType(.numberPad)
                TextField("Họ và tên", text: $fullName)
                TextField("Ngày sinh (YYYY-MM-DD)", text: $dateOfBirth)
                TextField("Số điện thoại đã đăng ký", text: $phone).keyboardType(.phonePad)
                Button("Gửi mã") {
                    let model = screen.model
                    let (i, n, d, p) = (idNumber, fullName, dateOfBirth, phone)
                    background { model.start(idNumber: i, fullName: n, dateOfBirth: d, phone: p) }
                }
            case .codeSent(_, let length):
                Text("Nếu thông tin khớp, mã \(length) số đã được gửi tới số điện thoại đã đăng ký.")
                TextField("Mã xác thực", text: $code).keyboardType(.numberPad)
                    .textContentType(.oneTimeCode)
                Button("Xác nhận") {
                    let (model, c) = (screen.model, code)
                    background { model.confirm(code: c) }
                }
            case .passkeyNeeded:
                Button("Tạo passkey trên điện thoại này") {
                    let (model, passkeys) = (screen.model, environment.passkeys)
                    background { model.registerPasskey(with: passkeys, name: UIDevice.current.name) }
                }
            case .enrolled(_, let level):
                Label("Đã đăng ký (mức \(level))", systemImage: "checkmark.seal")
            }
            if case .failed(let reason) = screen.model.state {
                Text(reason.message).foregroundStyle(.red)
            }
        }
        .navigationTitle("Đăng ký")
    }
}

struct SignInScreen: View {
    @EnvironmentObject var environment: AppEnvironment
    @StateObject private var screen: Observed<SignInModel>
    init(api: ServerAPI) { _screen = StateObject(wrappedValue: Observed(SignInModel(api: api))) }

    var body: some View {
        VStack(spacing: 16) {
            switch screen.model.state {
            case .signedOut:
                Button("Đăng nhập bằng passkey") {
                    let (model, passkeys) = (screen.model, environment.passkeys)
                    background { model.signIn(with: passkeys) }
                }.buttonStyle(.borderedProminent)
            case .signedIn(_, let level):
                Label("Đã đăng nhập, mức \(level)", systemImage: "person.badge.shield.checkmark")
                Button("Đăng xuất") { let m = screen.model; background { m.signOut() } }
            case .failed(let reason):
                Text(reason.message).foregroundStyle(.red)
                Button("Thử lại") {
                    let (model, passkeys) = (screen.model, environment.passkeys)
                    background { model.signIn(with: passkeys) }
                }
            }
        }
        .navigationTitle("Đăng nhập")
    }
}

struct Level2Screen: View {
    @EnvironmentObject var environment: AppEnvironment
    @StateObject private var screen: Observed<Level2Model>
    @State private var documentNumber = "", birth = "", expiry = ""
    init(api: ServerAPI) { _screen = StateObject(wrappedValue: Observed(Level2Model(api: api))) }

    var body: some View {
        Form {
            Section("Dòng MRZ mặt sau thẻ") {
                TextField("Số thẻ (9 ký tự)", text: $documentNumber)
                TextField("Ngày sinh (YYMMDD)", text: $birth)
                TextField("Ngày hết hạn (YYMMDD)", text: $expiry)
                Button("Đọc chip (NFC)") {
                    screen.model.readAndSubmit(
                        reader: environment.chipReader,
                        key: ChipAccessKey(documentNumber: documentNumber, dateOfBirth: birth,
                                           dateOfExpiry: expiry))
                }
            }
            switch screen.model.state {
            case .idle: EmptyView()
            case .reading: ProgressView("Đang đọc chip…")
            case .submitted(_, let status, let chip, let registry):
                Label(chip ? "Chip hợp lệ" : "Chip không hợp lệ", systemImage: "cpu")
                Label(registry ? "Khớp cơ sở dữ liệu" : "Không khớp", systemImage: "person.text.rectangle")
                Text("Trạng thái: \(status) — cán bộ sẽ xác nhận trực tiếp.")
            case .failed(let reason): Text(reason.message).foregroundStyle(.red)
            }
        }
        .navigationTitle("Mức 2")
    }
}

// MARK: - Wallet and offers

struct WalletScreen: View {
    @EnvironmentObject var environment: AppEnvironment
    @StateObject private var screen: Observed<WalletModel>
    let context: WalletContext
    init(context: WalletContext) {
        self.context = context
        _screen = StateObject(wrappedValue: Observed(WalletModel(context: context)))
    }

    var body: some View {
        List {
            ForEach(screen.model.rows, id: \.id) { row in
                VStack(alignment: .leading) {
                    Text(row.name).font(.headline)
                    Text(row.expired ? "Hết hạn" : "Còn \(row.unusedCopies)/\(row.copies) bản dùng một lần")
                        .font(.caption)
                        .foregroundStyle(row.expired || row.needsRefresh ? .orange : .secondary)
                }
                .swipeActions { Button("Xóa", role: .destructive) { screen.model.remove(id: row.id) } }
            }
            if let failure = screen.model.failure { Text(failure.message).foregroundStyle(.red) }
            NavigationLink("Nhận giấy tờ") { OfferScreen(context: context, api: environment.api) }
        }
        .navigationTitle("Ví giấy tờ")
        .onAppear { screen.model.refresh() }
    }
}

struct OfferScreen: View {
    @StateObject private var screen: Observed<OfferModel>
    @State private var txCode = ""
    @State private var scanning = false
    init(context: WalletContext, api: ServerAPI) {
        _screen = StateObject(wrappedValue: Observed(OfferModel(context: context, api: api)))
    }

    var body: some View {
        Form {
            Button("Yêu cầu cấp Căn cước (PID)") {
                let model = screen.model
                background {
                    if let offer = model.request(configurations: ["pid"]) {
                        DispatchQueue.main.async { txCode = offer.txCode }
                    }
                }
            }
            Button("Quét mã đề nghị cấp") { scanning = true }
            if case .offered = screen.model.state {
                TextField("Mã giao dịch", text: $txCode).keyboardType(.numberPad)
                Button("Nhận") { let (m, c) = (screen.model, txCode); background { m.accept(txCode: c) } }
            }
            if case .received(let ids) = screen.model.state {
                Label("Đã nhận \(ids.count) giấy tờ", systemImage: "checkmark.circle")
            }
            if case .failed(let reason) = screen.model.state {
                Text(reason.message).foregroundStyle(.red)
            }
        }
        .sheet(isPresented: $scanning) {
            QRScanner { text in scanning = false; screen.model.scanned(uri: text) }
        }
        .navigationTitle("Nhận giấy tờ")
    }
}

// MARK: - Presenting: online, and offline by QR code

struct PresentScreen: View {
    let context: WalletContext
    var body: some View {
        List {
            NavigationLink("Quét yêu cầu (trực tuyến)") { ConsentScreen(context: context, mode: .online) }
            NavigationLink("Trình bày ngoại tuyến bằng QR") { ConsentScreen(context: context, mode: .offlineQR) }
        }
        .navigationTitle("Trình bày")
    }
}

struct ConsentScreen: View {
    @StateObject private var screen: Observed<PresentationModel>
    @State private var scanning = true
    init(context: WalletContext, mode: PresentationModel.Mode) {
        _screen = StateObject(wrappedValue: Observed(PresentationModel(context: context, mode: mode)))
    }

    var body: some View {
        Group {
            switch screen.model.state {
            case .idle: Text("Quét mã QR của bên yêu cầu")
            case .consent(let consent): ConsentView(consent: consent,
                approve: { let m = screen.model; background { m.approve() } },
                decline: { let m = screen.model; background { m.decline() } })
            case .presented(let verifier, let claims):
                Label("Đã gửi \(claims.count) thông tin cho \(verifier)", systemImage: "paperplane")
            case .showQR(let text, let verifier):
                VStack { QRCodeImage(text: text); Text("Đưa mã này cho \(verifier) quét") }
            case .declined: Label("Đã từ chối", systemImage: "hand.raised")
            case .refused(let reason, _), .failed(let reason):
                Text(reason.message).foregroundStyle(.red)
            }
        }
        .sheet(isPresented: $scanning) {
            QRScanner { text in
                scanning = false
                let model = screen.model
                background { model.scanned(uri: text) }
            }
        }
        .navigationTitle("Đồng ý chia sẻ")
    }
}

/// The consent: who asks (the name the agency registered, or a warning), why, what.
struct ConsentView: View {
    let consent: Consent
    let approve: () -> Void
    let decline: () -> Void

    var body: some View {
        List {
            Section {
                Text(consent.verifierName).font(.title2)
                if consent.registered {
                    Label("Đã đăng ký với cơ quan cấp", systemImage: "checkmark.shield")
                } else {
                    Label("CHƯA đăng ký — sẽ không chia sẻ gì", systemImage: "exclamationmark.triangle")
                        .foregroundStyle(.red)
                }
                if let purpose = consent.purpose { Text("Mục đích: \(purpose)") }
            }
            ForEach(consent.items, id: \.query) { item in
                Section(displayName(configurationId: nil, vct: item.vct)) {
                    ForEach(item.claims, id: \.self) { Text($0) }
                }
            }
            ForEach(consent.withheld, id: \.query) { item in
                Section("Không chia sẻ (ngoài phạm vi đăng ký)") {
                    ForEach(item.refused, id: \.self) { Text($0).strikethrough() }
                }
            }
            Section {
                if !consent.items.isEmpty { Button("Đồng ý", action: approve).bold() }
                Button("Từ chối", role: .destructive, action: decline)
            }
        }
    }
}

// MARK: - History, SIM numbers, signing, verifier mode

struct MoreScreen: View {
    @EnvironmentObject var environment: AppEnvironment
    let context: WalletContext
    var body: some View {
        List {
            NavigationLink("Lịch sử") { HistoryScreen(context: context, api: environment.api) }
            NavigationLink("Số thuê bao của tôi") {
                SimListScreen(api: environment.api, capabilities: environment.capabilities)
            }
            NavigationLink("Ký tài liệu") {
                SignScreen(api: environment.api, capabilities: environment.capabilities,
                           keyStore: environment.keyStore)
            }
            NavigationLink("Chế độ bên xác minh (quầy)") { VerifierScreen() }
        }
        .navigationTitle("Khác")
    }
}

struct HistoryScreen: View {
    @StateObject private var screen: Observed<HistoryModel>
    init(context: WalletContext, api: ServerAPI) {
        _screen = StateObject(wrappedValue: Observed(HistoryModel(context: context, api: api)))
    }
    var body: some View {
        List {
            Section("Đã chia sẻ") {
                ForEach(Array(screen.model.presentations.enumerated()), id: \.offset) { _, entry in
                    VStack(alignment: .leading) {
                        Text(entry.verifierName ?? entry.verifier).font(.headline)
                        Text(entry.claims.joined(separator: ", ")).font(.caption)
                    }
                }
            }
            Section("Tài khoản") {
                ForEach(Array(screen.model.server.enumerated()), id: \.offset) { _, entry in
                    Text("\(entry.at) · \(entry.action) · \(entry.actor)").font(.caption)
                }
            }
        }
        .onAppear { let m = screen.model; background { m.refresh() } }
        .navigationTitle("Lịch sử")
    }
}

struct SimListScreen: View {
    @StateObject private var screen: Observed<SimListModel>
    init(api: ServerAPI, capabilities: Capabilities) {
        _screen = StateObject(wrappedValue: Observed(SimListModel(api: api, capabilities: capabilities)))
    }
    var body: some View {
        List {
            switch screen.model.state {
            case .unavailable: Text("Máy chủ chưa hỗ trợ danh sách thuê bao.")
            case .failed(let reason): Text(reason.message).foregroundStyle(.red)
            case .loaded(let numbers):
                ForEach(numbers, id: \.subscriptionId) { number in
                    VStack(alignment: .leading) {
                        Text("\(number.msisdn) · \(number.operatorName)").font(.headline)
                        Text(number.state).font(.caption)
                        HStack {
                            Button("Của tôi") { mark(number, mine: true) }
                            Button("Không phải của tôi", role: .destructive) { mark(number, mine: false) }
                        }.buttonStyle(.bordered)
                    }
                }
            }
        }
        .onAppear { let m = screen.model; background { m.refresh() } }
        .navigationTitle("Số thuê bao")
    }
    private func mark(_ number: SimListModel.Number, mine: Bool) {
        let model = screen.model
        background { model.mark(subscriptionId: number.subscriptionId, mine: mine) }
    }
}

struct SignScreen: View {
    @StateObject private var screen: Observed<SigningModel>
    init(api: ServerAPI, capabilities: Capabilities, keyStore: KeyStore) {
        // The key stays in the Secure Enclave; the FFI makes the CSR and the signatures.
        _screen = StateObject(wrappedValue: Observed(SigningModel(
            api: api, capabilities: capabilities, signer: KeyStoreSigning(keyStore: keyStore))))
    }
    var body: some View {
        List {
            switch screen.model.state {
            case .unavailable(let why): Text("Chưa có: \(why)")
            case .ready(let certificates):
                ForEach(certificates, id: \.id) { Text("\($0.id) · \($0.status) · \($0.notAfter)") }
                Button("Xin chứng thư ký số") { let m = screen.model; background { m.requestCertificate() } }
            case .certified(let id, _): Text("Chứng thư \(id) đã cấp")
            case .signed(let signature): Text("Đã ký (\(signature.count) byte)")
            case .failed(let reason): Text(reason.message).foregroundStyle(.red)
            }
        }
        .onAppear { let m = screen.model; background { m.refresh() } }
        .navigationTitle("Ký tài liệu")
    }
}

/// Verifier mode: the counter's own key and registration come from its onboarding with the
/// agency (the RP-registry issue's `rp register`), stored with the app's configuration.
struct VerifierScreen: View {
    @State private var model: VerifierModel?
    @State private var scanning = false
    @State private var state: VerifierModel.State = .idle

    var body: some View {
        VStack(spacing: 16) {
            switch state {
            case .idle: Text("Cấu hình quầy (khóa, chứng thư, đăng ký) chưa có.")
            case .showingRequest(let uri, _):
                QRCodeImage(text: uri)
                Button("Quét câu trả lời") { scanning = true }
            case .verified(let credentials):
                ForEach(credentials, id: \.query) { Text("\($0.vct): \($0.claimsJson) (\($0.status))") }
            case .rejected(let reason): Text(reason.message).foregroundStyle(.red)
            }
        }
        .sheet(isPresented: $scanning) {
            QRScanner { text in
                scanning = false
                model?.scanned(qr: text)
                state = model?.state ?? .idle
            }
        }
        .onAppear {
            if let config = CounterConfiguration.load(), let verifier = try? VerifierModel(config: config) {
                model = verifier
                verifier.showRequest()
                state = verifier.state
            }
        }
        .navigationTitle("Quầy xác minh")
    }
}

/// The counter's configuration as its operator installed it (a JSON file in the app's
/// documents: signing JWK, chain, client id, registration, the agency's issuing root).
enum CounterConfiguration {
    static func load() -> VerifierConfig? {
        guard let url = FileManager.default.urls(for: .documentDirectory, in: .userDomainMask).first?
            .appendingPathComponent("counter.json"),
              let data = try? Data(contentsOf: url),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: String],
              let key = json["signing_key_jwk"], let chain = json["certificate_chain"],
              let clientId = json["client_id"], let root = json["issuer_root"]
        else { return nil }
        return VerifierConfig(
            signingKeyJwk: key, certificateChainPem: chain, clientId: clientId,
            responseUri: json["response_uri"] ?? "https://\(clientId.split(separator: ":").last ?? "")/openid4vp/response",
            issuerAnchorsPem: root, trustAsOf: systemClock(), registration: json["registration"])
    }
}

// MARK: - QR codes

struct QRCodeImage: View {
    let text: String
    var body: some View {
        let filter = CIFilter.qrCodeGenerator()
        filter.message = Data(text.utf8)
        filter.correctionLevel = "L"
        let context = CIContext()
        if let output = filter.outputImage?.transformed(by: CGAffineTransform(scaleX: 8, y: 8)),
           let image = context.createCGImage(output, from: output.extent) {
            return AnyView(Image(decorative: image, scale: 1).interpolation(.none).resizable()
                .scaledToFit().padding())
        }
        return AnyView(Text("Không tạo được mã QR"))
    }
}

struct QRScanner: UIViewControllerRepresentable {
    let found: (String) -> Void

    func makeUIViewController(context: Context) -> DataScannerViewController {
        let scanner = DataScannerViewController(
            recognizedDataTypes: [.barcode(symbologies: [.qr])], isHighlightingEnabled: true)
        scanner.delegate = context.coordinator
        try? scanner.startScanning()
        return scanner
    }

    func updateUIViewController(_ controller: DataScannerViewController, context: Context) {}
    func makeCoordinator() -> Coordinator { Coordinator(found: found) }

    final class Coordinator: NSObject, DataScannerViewControllerDelegate {
        let found: (String) -> Void
        init(found: @escaping (String) -> Void) { self.found = found }
        func dataScanner(_ scanner: DataScannerViewController, didAdd items: [RecognizedItem],
                         allItems: [RecognizedItem]) {
            for case .barcode(let code) in items {
                if let text = code.payloadStringValue { scanner.stopScanning(); found(text); return }
            }
        }
    }
}
