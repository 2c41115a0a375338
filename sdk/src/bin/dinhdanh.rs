//! `dinhdanh`: the credential core from the command line. JSON in, JSON out; tokens (SD-JWTs,
//! status list JWTs) are written as they are. Exit status 0 on success; on failure a JSON object
//! `{"error": CODE, "message": TEXT}` on stderr and a non-zero status (2 for usage errors).

use std::{
    fs,
    io::{self, Read, Write},
    process::ExitCode,
    time::{SystemTime, UNIX_EPOCH},
};

use clap::{Args, Parser, Subcommand};
use dinhdanh_sdk::{
    cms::SignerChain,
    jose::{Es256KeyPair, JwsHeader, PublicKey},
    openid4vci::{
        client::{HttpRequest, Transport},
        http::HttpTransport,
    },
    pades,
    sdjwt::{ClaimPath, KeyBindingInput, SdJwt},
    signatures,
    status_list::{StatusList, StatusListToken, StatusReference, UnverifiedStatusListToken},
    tsp::TimeStampQuery,
    vc::{VcIssuance, issue_vc},
    verifier::{
        IssuerTrustData, KeyBindingPolicy, StatusListCache, StatusPolicy, StatusTrust,
        VerificationPolicy, verify_presentation,
    },
    x509::{
        self, TrustAnchor,
        dev::{DevCa, LeafProfile},
        revocation,
    },
};
use serde_json::{Map, Value, json};
use zeroize::Zeroizing;

#[derive(Parser)]
#[command(
    name = "dinhdanh",
    version,
    about = "dinhdanh credential tool: keys, SD-JWT VCs, status lists"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a P-256 private JWK.
    Keygen,
    /// Issue, present and verify SD-JWT VCs.
    #[command(subcommand, name = "sd-jwt")]
    SdJwt(SdJwtCommand),
    /// Encode, decode, sign and check Token Status Lists.
    #[command(subcommand, name = "status-list")]
    StatusList(StatusListCommand),
    /// Development certificates (a root CA and leaf certificates for issuer keys).
    #[command(subcommand)]
    X509(X509Command),
    /// OpenID4VCI: the key proof a wallet sends with a credential request.
    #[command(subcommand)]
    Oid4vci(Oid4vciCommand),
    /// Sign documents: detached CMS (CAdES), PDF (PAdES), detached JWS.
    #[command(subcommand)]
    Sign(SignCommand),
    /// Verify document signatures.
    #[command(subcommand)]
    Signature(SignatureCommand),
}

#[derive(Subcommand)]
enum SignCommand {
    /// A detached CMS signature (DER) of standard input (CAdES B-B; B-T with --tsa).
    Cms {
        #[command(flatten)]
        signer: SignerArgs,
        /// An RFC 3161 time-stamp authority to time-stamp the signature (B-T).
        #[arg(long)]
        tsa: Option<String>,
    },
    /// Sign a PDF by an incremental update (PAdES B-B; B-T with --tsa).
    Pdf {
        #[command(flatten)]
        signer: SignerArgs,
        /// An RFC 3161 time-stamp authority to time-stamp the signature (B-T).
        #[arg(long)]
        tsa: Option<String>,
        /// The PDF to sign.
        #[arg(long = "in")]
        input: String,
        /// Where to write the signed PDF.
        #[arg(long = "out")]
        output: String,
    },
    /// A compact JWS of standard input (a JSON document) with a detached payload and `x5c`.
    Jws {
        #[command(flatten)]
        signer: SignerArgs,
    },
}

#[derive(Args)]
struct SignerArgs {
    /// The signer's private JWK.
    #[arg(long)]
    key: String,
    /// The signer's certificate chain (PEM, leaf first).
    #[arg(long)]
    cert: String,
    /// The signing time (Unix seconds); defaults to now.
    #[arg(long)]
    now: Option<u64>,
}

#[derive(Subcommand)]
enum SignatureCommand {
    /// Verify a signature (standard input) → a JSON verdict; exit status 0 only when valid.
    #[command(subcommand)]
    Verify(VerifyFormat),
}

#[derive(Subcommand)]
enum VerifyFormat {
    /// A detached CMS signature (DER) of --content.
    Cms {
        /// The signed document.
        #[arg(long)]
        content: String,
        #[command(flatten)]
        trust: TrustArgs,
    },
    /// A signed PDF (every signature is checked; the verdict is the last one's).
    Pdf {
        #[command(flatten)]
        trust: TrustArgs,
    },
    /// A detached compact JWS of --content.
    Jws {
        /// The signed document.
        #[arg(long)]
        content: String,
        #[command(flatten)]
        trust: TrustArgs,
    },
}

#[derive(Args)]
struct TrustArgs {
    /// PEM trust anchor(s): the agency root.
    #[arg(long)]
    trust_anchor: String,
    /// A CRL of the signer's CA (DER or PEM).
    #[arg(long)]
    crl: Option<String>,
    /// A DER OCSPResponse for the signer's certificate.
    #[arg(long)]
    ocsp: Option<String>,
    /// Verification time (Unix seconds); defaults to now.
    #[arg(long)]
    now: Option<u64>,
    /// The oldest CRL or OCSP response accepted, seconds.
    #[arg(long, default_value_t = signatures::DEFAULT_MAX_REVOCATION_AGE)]
    revocation_max_age: u64,
}

#[derive(Subcommand)]
enum Oid4vciCommand {
    /// A key proof (`typ: openid4vci-proof+jwt`) of the holder key for a credential issuer.
    Proof(ProofArgs),
}

#[derive(Args)]
struct ProofArgs {
    /// The holder's private JWK (the credential is bound to its public part).
    #[arg(long)]
    key: String,
    /// The credential issuer identifier (`aud`).
    #[arg(long)]
    aud: String,
    /// The `c_nonce` from the issuer's nonce endpoint.
    #[arg(long)]
    nonce: String,
    /// `iat` (Unix seconds); defaults to now.
    #[arg(long)]
    now: Option<u64>,
}

#[derive(Subcommand)]
enum SdJwtCommand {
    /// Issue an SD-JWT VC (`typ: dc+sd-jwt`).
    Issue(IssueArgs),
    /// Present an SD-JWT (stdin) with chosen disclosures and a Key Binding JWT.
    Present(PresentArgs),
    /// Verify a presentation (stdin).
    Verify(VerifyArgs),
}

#[derive(Args)]
struct IssueArgs {
    /// The issuer's private JWK.
    #[arg(long)]
    issuer_key: String,
    /// PEM certificate chain (leaf first) for the `x5c` header.
    #[arg(long)]
    x5c: Option<String>,
    /// The holder's public JWK (a private JWK is accepted; only its public part is used).
    #[arg(long)]
    holder_jwk: String,
    /// Credential type.
    #[arg(long)]
    vct: String,
    /// Claims JSON object; `iss`, `iat`, `nbf`, `exp` in it become the registered claims.
    #[arg(long)]
    claims: String,
    /// Selectively disclosable claim paths, comma-separated (`/address/street_address,/nationalities/0`).
    #[arg(long, default_value = "")]
    sd: String,
    /// Index in the status list.
    #[arg(long, requires = "status_uri")]
    status_idx: Option<u64>,
    /// URI of the status list.
    #[arg(long, requires = "status_idx")]
    status_uri: Option<String>,
    /// Issuance time (Unix seconds) when the claims have no `iat`; defaults to now.
    #[arg(long)]
    now: Option<u64>,
}

#[derive(Args)]
struct PresentArgs {
    /// The holder's private JWK.
    #[arg(long)]
    holder_key: String,
    /// Claim paths to disclose, comma-separated.
    #[arg(long, default_value = "")]
    disclose: String,
    /// The verifier (`aud` of the KB-JWT).
    #[arg(long)]
    aud: String,
    /// The verifier's nonce.
    #[arg(long)]
    nonce: String,
    /// KB-JWT `iat` (Unix seconds); defaults to now.
    #[arg(long)]
    now: Option<u64>,
}

#[derive(Args)]
struct VerifyArgs {
    /// The issuer's public JWK.
    #[arg(
        long,
        conflicts_with = "trust_anchor",
        required_unless_present = "trust_anchor"
    )]
    issuer_jwk: Option<String>,
    /// PEM trust anchor(s) the `x5c` chain must lead to.
    #[arg(long)]
    trust_anchor: Option<String>,
    /// Expected KB-JWT audience (requires key binding).
    #[arg(long, requires = "nonce")]
    aud: Option<String>,
    /// Expected KB-JWT nonce.
    #[arg(long, requires = "aud")]
    nonce: Option<String>,
    /// Status list token (file) for the credential's status reference.
    #[arg(long)]
    status_list: Option<String>,
    /// Public JWK of the status list signer (default: the `x5c` chain of the token to the trust anchor).
    #[arg(long, requires = "status_list")]
    status_key: Option<String>,
    /// Verification time (Unix seconds); defaults to now.
    #[arg(long)]
    now: Option<u64>,
    /// Maximum age of the KB-JWT, seconds.
    #[arg(long, default_value_t = 300)]
    kb_max_age: u64,
    /// Maximum age of the status list, seconds.
    #[arg(long, default_value_t = 86_400)]
    status_max_age: u64,
}

#[derive(Subcommand)]
enum StatusListCommand {
    /// JSON array of statuses (stdin) → `{"bits": N, "lst": ...}`.
    Encode {
        /// Bits per status: 1, 2, 4 or 8.
        #[arg(long)]
        bits: u8,
    },
    /// `lst` (stdin: the bare value, a JSON string, or `{"lst": ...}`) → JSON array of statuses.
    Decode {
        /// Bits per status.
        #[arg(long)]
        bits: u8,
    },
    /// JSON array of statuses (stdin) → a signed `statuslist+jwt`.
    Sign {
        /// The signer's private JWK.
        #[arg(long)]
        key: String,
        /// The list's URI (the token's `sub`).
        #[arg(long)]
        uri: String,
        /// Bits per status.
        #[arg(long)]
        bits: u8,
        /// `ttl`, seconds.
        #[arg(long)]
        ttl: Option<u64>,
        /// `exp`, Unix seconds.
        #[arg(long)]
        exp: Option<u64>,
        /// PEM certificate chain for the `x5c` header.
        #[arg(long)]
        x5c: Option<String>,
        /// `iat` (Unix seconds); defaults to now.
        #[arg(long)]
        now: Option<u64>,
    },
    /// Verify a status list token and read one entry.
    Check {
        /// The token, or a file holding it.
        #[arg(long)]
        token: String,
        /// The entry's index.
        #[arg(long)]
        idx: u64,
        /// The signer's public JWK.
        #[arg(long)]
        key: String,
        /// The URI the credential names (default: the token's own `sub`).
        #[arg(long)]
        uri: Option<String>,
        /// Verification time (Unix seconds); defaults to now.
        #[arg(long)]
        now: Option<u64>,
    },
}

#[derive(Subcommand)]
enum X509Command {
    /// A PKCS#10 certification request (PEM) for the key, signed by it: what a citizen's device
    /// sends for a signing certificate, and what a relying party hands the agency
    /// (`dinhdanh-server rp register --csr`). Its subject is empty: the agency writes its own.
    Csr {
        /// The private JWK.
        #[arg(long)]
        key: String,
    },
    /// A self-signed development root CA for the key (PEM on stdout).
    DevCa {
        /// The CA's private JWK.
        #[arg(long)]
        key: String,
        /// Common name.
        #[arg(long, default_value = "dinhdanh development root")]
        cn: String,
        /// Validity in days.
        #[arg(long, default_value_t = 3650)]
        days: u64,
    },
    /// A leaf certificate for a key, signed by the development CA (PEM on stdout).
    DevCert {
        /// The CA's private JWK.
        #[arg(long)]
        ca_key: String,
        /// The CA certificate (PEM).
        #[arg(long)]
        ca_cert: String,
        /// The subject's JWK (its public part is certified).
        #[arg(long)]
        subject_key: String,
        /// Common name.
        #[arg(long, default_value = "dinhdanh development issuer")]
        cn: String,
        /// URI subject alternative names (e.g. the issuer's `iss`).
        #[arg(long)]
        uri: Vec<String>,
        /// DNS subject alternative names.
        #[arg(long)]
        dns: Vec<String>,
        /// Validity in days.
        #[arg(long, default_value_t = 365)]
        days: u64,
    },
    /// A citizen signing certificate for a CSR (PEM on stdout), signed by the development CA:
    /// subject C=VN, CN, UID=CCCD:<id number>; digitalSignature + nonRepudiation;
    /// documentSigning + emailProtection.
    DevSigningCert {
        /// The CA's private JWK.
        #[arg(long)]
        ca_key: String,
        /// The CA certificate (PEM).
        #[arg(long)]
        ca_cert: String,
        /// The PKCS#10 request (PEM), checked for proof of possession.
        #[arg(long)]
        csr: String,
        /// The citizen's full name.
        #[arg(long)]
        name: String,
        /// The citizen's ID number.
        #[arg(long)]
        id_number: String,
        /// CRL distribution point.
        #[arg(long, default_value = "http://127.0.0.1:8080/crl/signing.crl")]
        crl_url: String,
        /// OCSP responder.
        #[arg(long, default_value = "http://127.0.0.1:8080/ocsp")]
        ocsp_url: String,
        /// Validity in days.
        #[arg(long, default_value_t = 365)]
        days: u64,
    },
}

/// A failure, printed as JSON on stderr.
struct Failure {
    code: &'static str,
    message: String,
}

impl Failure {
    fn new(code: &'static str, message: impl ToString) -> Self {
        Self {
            code,
            message: message.to_string(),
        }
    }
}

macro_rules! fail_as {
    ($code:literal) => {
        |error| Failure::new($code, error)
    };
}

type Outcome = Result<String, Failure>;

/// What a command prints.
enum Printed {
    /// A line of text (zeroized after printing: `keygen` prints a private key).
    Text(Zeroizing<String>),
    /// Bytes as they are (a DER signature).
    Bytes(Vec<u8>),
    /// A verdict: printed whether valid or not; the exit status says which.
    Verdict { json: String, valid: bool },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error)
            if matches!(
                error.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            ) =>
        {
            print!("{error}");
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            report(&Failure::new("usage", error.to_string().trim()));
            return ExitCode::from(2);
        }
    };
    match run(cli.command) {
        Ok(printed) => {
            let mut stdout = io::stdout().lock();
            let (written, code) = match printed {
                Printed::Text(text) => (writeln!(stdout, "{}", text.as_str()), ExitCode::SUCCESS),
                Printed::Bytes(bytes) => (stdout.write_all(&bytes), ExitCode::SUCCESS),
                Printed::Verdict { json, valid } => (
                    writeln!(stdout, "{json}"),
                    if valid {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::FAILURE
                    },
                ),
            };
            if written.and_then(|()| stdout.flush()).is_err() {
                return ExitCode::FAILURE;
            }
            code
        }
        Err(failure) => {
            report(&failure);
            if failure.code == "usage" {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn report(failure: &Failure) {
    eprintln!(
        "{}",
        json!({"error": failure.code, "message": failure.message})
    );
}

/// What the command prints; text is zeroized after printing, since `keygen` prints a private key.
fn run(command: Command) -> Result<Printed, Failure> {
    let plain = |outcome: Outcome| outcome.map(|text| Printed::Text(Zeroizing::new(text)));
    match command {
        Command::Keygen => {
            let key = Es256KeyPair::generate().map_err(fail_as!("key"))?;
            Ok(Printed::Text(key.to_private_jwk()))
        }
        Command::Sign(command) => sign(command),
        Command::Signature(SignatureCommand::Verify(format)) => verify_signature(format),
        Command::SdJwt(SdJwtCommand::Issue(args)) => plain(issue(args)),
        Command::SdJwt(SdJwtCommand::Present(args)) => plain(present(args)),
        Command::SdJwt(SdJwtCommand::Verify(args)) => plain(verify(args)),
        Command::StatusList(command) => plain(status_list(command)),
        Command::X509(command) => plain(x509_command(command)),
        Command::Oid4vci(Oid4vciCommand::Proof(args)) => plain(key_proof(args)),
    }
}

fn key_proof(args: ProofArgs) -> Outcome {
    let key = private_key(&args.key)?;
    dinhdanh_sdk::openid4vci::proof::build(&dinhdanh_sdk::openid4vci::proof::ProofInput {
        signer: &key,
        public_key: key.public_key(),
        aud: &args.aud,
        nonce: Some(&args.nonce),
        iss: None,
        iat: now_or(args.now),
    })
    .map_err(fail_as!("proof"))
}

fn now_or(given: Option<u64>) -> u64 {
    given.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    })
}

fn read_file(path: &str) -> Result<String, Failure> {
    fs::read_to_string(path).map_err(|e| Failure::new("io", format!("{path}: {e}")))
}

fn read_stdin() -> Result<String, Failure> {
    let mut text = String::new();
    io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| Failure::new("io", format!("stdin: {e}")))?;
    Ok(text.trim().to_owned())
}

fn read_json(path: &str) -> Result<Value, Failure> {
    serde_json::from_str(&read_file(path)?)
        .map_err(|e| Failure::new("invalid_json", format!("{path}: {e}")))
}

fn private_key(path: &str) -> Result<Es256KeyPair, Failure> {
    Es256KeyPair::from_jwk(&read_json(path)?)
        .map_err(|e| Failure::new("invalid_key", format!("{path}: {e}")))
}

/// A public key from a JWK file; a private JWK's public half is taken, `d` never used.
fn public_key(path: &str) -> Result<PublicKey, Failure> {
    let mut jwk = read_json(path)?;
    if let Some(object) = jwk.as_object_mut() {
        object.remove("d");
    }
    PublicKey::from_jwk(&jwk).map_err(|e| Failure::new("invalid_key", format!("{path}: {e}")))
}

fn x5c_from_pem(path: &str) -> Result<Vec<String>, Failure> {
    let chain = x509::pem_to_der_chain(&read_file(path)?)
        .map_err(|e| Failure::new("invalid_certificate", format!("{path}: {e}")))?;
    Ok(x509::der_chain_to_x5c(&chain))
}

fn paths(list: &str) -> Result<Vec<ClaimPath>, Failure> {
    ClaimPath::parse_list(list).map_err(fail_as!("invalid_path"))
}

fn issue(args: IssueArgs) -> Outcome {
    let issuer = private_key(&args.issuer_key)?;
    let holder = public_key(&args.holder_jwk)?;
    let Value::Object(mut claims) = read_json(&args.claims)? else {
        return Err(Failure::new(
            "invalid_claims",
            "claims must be a JSON object",
        ));
    };
    let time = |claims: &mut Map<String, Value>, name: &str| -> Result<Option<u64>, Failure> {
        match claims.remove(name) {
            None => Ok(None),
            Some(value) => value.as_u64().map(Some).ok_or_else(|| {
                Failure::new(
                    "invalid_claims",
                    format!("{name} must be a non-negative integer"),
                )
            }),
        }
    };
    let iat = time(&mut claims, "iat")?.unwrap_or_else(|| now_or(args.now));
    let nbf = time(&mut claims, "nbf")?;
    let exp = time(&mut claims, "exp")?;
    let iss = match claims.remove("iss") {
        None => None,
        Some(Value::String(iss)) => Some(iss),
        Some(_) => return Err(Failure::new("invalid_claims", "iss must be a string")),
    };
    let status = match (args.status_idx, args.status_uri) {
        (Some(idx), Some(uri)) => Some(StatusReference::new(uri, idx)),
        _ => None,
    };
    let issuance = VcIssuance {
        vct: &args.vct,
        iss: iss.as_deref(),
        iat,
        nbf,
        exp,
        holder_key: Some(&holder),
        status: status.as_ref(),
        x5c: args.x5c.as_deref().map(x5c_from_pem).transpose()?,
        kid: None,
    };
    issue_vc(&issuer, &issuance, &claims, &paths(&args.sd)?).map_err(fail_as!("issuance"))
}

fn present(args: PresentArgs) -> Outcome {
    let holder = private_key(&args.holder_key)?;
    let credential = SdJwt::parse(&read_stdin()?).map_err(fail_as!("invalid_sd_jwt"))?;
    let key_binding = KeyBindingInput {
        signer: &holder,
        aud: &args.aud,
        nonce: &args.nonce,
        iat: now_or(args.now),
    };
    credential
        .present(&paths(&args.disclose)?, Some(key_binding))
        .map_err(fail_as!("presentation"))
}

fn verify(args: VerifyArgs) -> Outcome {
    let now = now_or(args.now);
    let presentation = read_stdin()?;
    let (issuer_trust, anchors) = match (&args.issuer_jwk, &args.trust_anchor) {
        (Some(jwk), _) => (IssuerTrustData::Key(public_key(jwk)?), Vec::new()),
        (None, Some(pem)) => {
            let anchors = TrustAnchor::from_pem(&read_file(pem)?)
                .map_err(|e| Failure::new("invalid_certificate", format!("{pem}: {e}")))?;
            (IssuerTrustData::Anchors(anchors.clone()), anchors)
        }
        (None, None) => {
            return Err(Failure::new(
                "usage",
                "--issuer-jwk or --trust-anchor is required",
            ));
        }
    };
    let mut status_lists = StatusListCache::new();
    if let Some(path) = &args.status_list {
        let token = read_file(path)?;
        let token = token.trim();
        let uri = unverified_sub(token)?;
        let trust = match &args.status_key {
            Some(jwk) => StatusTrust::Key(public_key(jwk)?),
            None if !anchors.is_empty() => StatusTrust::Anchors(anchors),
            None => {
                return Err(Failure::new(
                    "usage",
                    "--status-key is required with --issuer-jwk",
                ));
            }
        };
        status_lists
            .insert(&uri, token, &trust, now)
            .map_err(fail_as!("status_list"))?;
    }
    let policy = VerificationPolicy {
        accepted_vcts: Vec::new(),
        issuer_trust,
        trust_as_of: now,
        max_trust_age: 0,
        skew: 60,
        key_binding: match (args.aud, args.nonce) {
            (Some(audience), Some(nonce)) => Some(KeyBindingPolicy {
                audience,
                nonce,
                max_age: args.kb_max_age,
            }),
            _ => None,
        },
        status: StatusPolicy {
            max_age: args.status_max_age,
            // Given a status list, the caller expects the credential to be checked against it.
            require_status: args.status_list.is_some(),
        },
    };
    let verified = verify_presentation(&presentation, &policy, &status_lists, now)
        .map_err(fail_as!("verification"))?;
    let disclosed: Vec<String> = verified
        .disclosed
        .iter()
        .map(|(path, _)| path.to_string())
        .collect();
    let mut output = json!({
        "vct": verified.vct,
        "claims": verified.claims,
        "disclosed": disclosed,
        "status": verified.status.map_or("none", |status| status.as_str()),
    });
    if let Some(kind) = verified.kind {
        output["kind"] = kind.id().into();
    }
    Ok(output.to_string())
}

/// The `sub` of a status list token, read before verification to know which list it is.
fn unverified_sub(token: &str) -> Result<String, Failure> {
    let parsed =
        dinhdanh_sdk::jose::UnverifiedJws::parse(token).map_err(fail_as!("status_list"))?;
    let payload: Value =
        serde_json::from_slice(parsed.unverified_payload()).map_err(fail_as!("status_list"))?;
    payload
        .get("sub")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| Failure::new("status_list", "token has no sub"))
}

fn statuses_from_stdin() -> Result<Vec<u8>, Failure> {
    serde_json::from_str(&read_stdin()?).map_err(|e| {
        Failure::new(
            "invalid_json",
            format!("expected a JSON array of statuses 0-255: {e}"),
        )
    })
}

fn status_list(command: StatusListCommand) -> Outcome {
    match command {
        StatusListCommand::Encode { bits } => {
            let list = StatusList::from_statuses(bits, &statuses_from_stdin()?)
                .map_err(fail_as!("status_list"))?;
            let lst = list.encode_lst().map_err(fail_as!("status_list"))?;
            Ok(json!({"bits": bits, "lst": lst}).to_string())
        }
        StatusListCommand::Decode { bits } => {
            let input = read_stdin()?;
            let lst = match serde_json::from_str::<Value>(&input) {
                Ok(Value::String(lst)) => lst,
                Ok(Value::Object(object)) => object
                    .get("lst")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| Failure::new("invalid_json", "object without lst"))?,
                _ => input,
            };
            let list = StatusList::decode_lst(bits, &lst).map_err(fail_as!("status_list"))?;
            Ok(Value::from(list.iter().collect::<Vec<u8>>()).to_string())
        }
        StatusListCommand::Sign {
            key,
            uri,
            bits,
            ttl,
            exp,
            x5c,
            now,
        } => {
            let signer = private_key(&key)?;
            let list = StatusList::from_statuses(bits, &statuses_from_stdin()?)
                .map_err(fail_as!("status_list"))?;
            let mut token = StatusListToken::new(uri, now_or(now), list);
            token.ttl = ttl;
            token.exp = exp;
            let mut header = JwsHeader::es256(dinhdanh_sdk::status_list::STATUS_LIST_JWT_TYP);
            header.x5c = x5c.as_deref().map(x5c_from_pem).transpose()?;
            token
                .sign(&header, &signer)
                .map_err(fail_as!("status_list"))
        }
        StatusListCommand::Check {
            token,
            idx,
            key,
            uri,
            now,
        } => {
            let token = match fs::read_to_string(&token) {
                Ok(text) => text.trim().to_owned(),
                Err(_) => token,
            };
            let uri = match uri {
                Some(uri) => uri,
                None => unverified_sub(&token)?,
            };
            let key = public_key(&key)?;
            let verified = UnverifiedStatusListToken::parse(&token)
                .and_then(|parsed| parsed.verify(&key, &uri, now_or(now)))
                .map_err(fail_as!("status_list"))?;
            let status = verified
                .status_of(&StatusReference::new(uri, idx))
                .map_err(fail_as!("status_list"))?;
            Ok(json!({"idx": idx, "status": status.as_str(), "value": status.as_u8()}).to_string())
        }
    }
}

/// `now` plus `days`, refusing values that overflow.
fn valid_until(now: u64, days: u64) -> Result<u64, Failure> {
    days.checked_mul(86_400)
        .and_then(|seconds| now.checked_add(seconds))
        .ok_or_else(|| Failure::new("usage", "--days is too large"))
}

fn x509_command(command: X509Command) -> Outcome {
    let now = now_or(None);
    match command {
        X509Command::Csr { key } => {
            let key = private_key(&key)?;
            let pem = x509::csr::csr_pem(&key, key.public_key()).map_err(fail_as!("x509"))?;
            Ok(pem.trim_end().to_owned())
        }
        X509Command::DevCa { key, cn, days } => {
            let ca = DevCa::generate(&private_key(&key)?, &cn, now - 60, valid_until(now, days)?)
                .map_err(fail_as!("x509"))?;
            Ok(ca.certificate_pem().trim_end().to_owned())
        }
        X509Command::DevCert {
            ca_key,
            ca_cert,
            subject_key,
            cn,
            uri,
            dns,
            days,
        } => {
            let ca_der = x509::pem_to_der_chain(&read_file(&ca_cert)?).map_err(fail_as!("x509"))?;
            let Some(ca_der) = ca_der.first() else {
                return Err(Failure::new("x509", "no certificate in the CA file"));
            };
            let ca = DevCa::load(ca_der, &private_key(&ca_key)?).map_err(fail_as!("x509"))?;
            let uris: Vec<&str> = uri.iter().map(String::as_str).collect();
            let dns: Vec<&str> = dns.iter().map(String::as_str).collect();
            let profile = LeafProfile {
                common_name: &cn,
                dns_names: &dns,
                uris: &uris,
                not_before: now - 60,
                not_after: valid_until(now, days)?,
            };
            let leaf = ca
                .issue(&public_key(&subject_key)?, &profile)
                .map_err(fail_as!("x509"))?;
            Ok(x509::dev::der_to_pem(&leaf).trim_end().to_owned())
        }
        X509Command::DevSigningCert {
            ca_key,
            ca_cert,
            csr,
            name,
            id_number,
            crl_url,
            ocsp_url,
            days,
        } => {
            let ca_der = x509::pem_to_der_chain(&read_file(&ca_cert)?).map_err(fail_as!("x509"))?;
            let Some(ca_der) = ca_der.first() else {
                return Err(Failure::new("x509", "no certificate in the CA file"));
            };
            let ca = DevCa::load(ca_der, &private_key(&ca_key)?).map_err(fail_as!("x509"))?;
            let csr_der = x509::csr::csr_from_pem(&read_file(&csr)?)
                .map_err(|e| Failure::new("x509", format!("{csr}: {e}")))?;
            let profile = x509::dev::SigningProfile {
                name: &name,
                id_number: &id_number,
                crl_url: &crl_url,
                ocsp_url: &ocsp_url,
                not_before: now - 60,
                not_after: valid_until(now, days)?,
            };
            let leaf = ca
                .issue_signing_certificate_for_csr(&csr_der, &profile)
                .map_err(fail_as!("x509"))?;
            Ok(x509::dev::der_to_pem(&leaf).trim_end().to_owned())
        }
    }
}

fn read_bytes(path: &str) -> Result<Vec<u8>, Failure> {
    fs::read(path).map_err(|e| Failure::new("io", format!("{path}: {e}")))
}

fn read_stdin_bytes() -> Result<Vec<u8>, Failure> {
    let mut bytes = Vec::new();
    io::stdin()
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::new("io", format!("stdin: {e}")))?;
    Ok(bytes)
}

/// The signer's key and certificate chain, checked to belong together.
fn signer(args: &SignerArgs) -> Result<(Es256KeyPair, Vec<Vec<u8>>, SignerChain), Failure> {
    let key = private_key(&args.key)?;
    let chain = x509::pem_to_der_chain(&read_file(&args.cert)?)
        .map_err(|e| Failure::new("invalid_certificate", format!("{}: {e}", args.cert)))?;
    let signer_chain = SignerChain::new(&chain, key.public_key())
        .map_err(|e| Failure::new("invalid_certificate", format!("{}: {e}", args.cert)))?;
    Ok((key, chain, signer_chain))
}

/// Asks the time-stamp authority at `url` for a token over `signature_value` (RFC 3161 over
/// HTTP: certReq true, a random nonce, both checked in the answer).
fn timestamp_token(url: &str, signature_value: &[u8]) -> Result<Vec<u8>, Failure> {
    let query = TimeStampQuery::for_signature(signature_value).map_err(fail_as!("tsa"))?;
    let response = HttpTransport::new()
        .send(&HttpRequest {
            method: "POST".into(),
            url: url.to_owned(),
            headers: vec![("Content-Type".into(), "application/timestamp-query".into())],
            body: query.der().to_vec(),
        })
        .map_err(fail_as!("tsa"))?;
    if response.status != 200 {
        return Err(Failure::new(
            "tsa",
            format!("the time-stamp authority answered {}", response.status),
        ));
    }
    query
        .token_from_response(&response.body)
        .map_err(fail_as!("tsa"))
}

fn sign(command: SignCommand) -> Result<Printed, Failure> {
    match command {
        SignCommand::Cms { signer: args, tsa } => {
            let (key, _, chain) = signer(&args)?;
            let document = read_stdin_bytes()?;
            let cms = signatures::sign_cms(&document, &key, &chain, now_or(args.now))
                .map_err(fail_as!("signing"))?;
            let cms = match tsa {
                None => cms,
                Some(url) => {
                    let value =
                        dinhdanh_sdk::cms::signature_value(&cms).map_err(fail_as!("signing"))?;
                    let token = timestamp_token(&url, &value)?;
                    signatures::add_cms_timestamp(&cms, &token).map_err(fail_as!("signing"))?
                }
            };
            Ok(Printed::Bytes(cms))
        }
        SignCommand::Pdf {
            signer: args,
            tsa,
            input,
            output,
        } => {
            let (key, _, chain) = signer(&args)?;
            let pdf = read_bytes(&input)?;
            let signed = signatures::sign_pdf(&pdf, &key, &chain, now_or(args.now))
                .map_err(fail_as!("pdf"))?;
            let signed = match tsa {
                None => signed,
                Some(url) => {
                    let value = pades::last_signature_value(&signed).map_err(fail_as!("pdf"))?;
                    let token = timestamp_token(&url, &value)?;
                    pades::add_timestamp(&signed, &token).map_err(fail_as!("pdf"))?
                }
            };
            fs::write(&output, signed).map_err(|e| Failure::new("io", format!("{output}: {e}")))?;
            Ok(Printed::Text(Zeroizing::new(
                json!({"signed": output}).to_string(),
            )))
        }
        SignCommand::Jws { signer: args } => {
            let (key, chain, _) = signer(&args)?;
            let document = read_stdin_bytes()?;
            let jws = signatures::sign_jws(&document, &key, &chain, now_or(args.now))
                .map_err(fail_as!("signing"))?;
            Ok(Printed::Text(Zeroizing::new(jws)))
        }
    }
}

fn verify_signature(format: VerifyFormat) -> Result<Printed, Failure> {
    let (trust, content) = match &format {
        VerifyFormat::Cms { content, trust } | VerifyFormat::Jws { content, trust } => {
            (trust, Some(read_bytes(content)?))
        }
        VerifyFormat::Pdf { trust } => (trust, None),
    };
    let anchors = TrustAnchor::from_pem(&read_file(&trust.trust_anchor)?).map_err(|e| {
        Failure::new(
            "invalid_certificate",
            format!("{}: {e}", trust.trust_anchor),
        )
    })?;
    let crl = trust
        .crl
        .as_deref()
        .map(|path| {
            revocation::crl_from_der_or_pem(&read_bytes(path)?)
                .map_err(|e| Failure::new("invalid_crl", format!("{path}: {e}")))
        })
        .transpose()?;
    let ocsp = trust.ocsp.as_deref().map(read_bytes).transpose()?;
    let context = signatures::VerificationContext {
        anchors: &anchors,
        crl: crl.as_deref(),
        ocsp: ocsp.as_deref(),
        now: now_or(trust.now),
        max_revocation_age: trust.revocation_max_age,
    };
    let input = read_stdin_bytes()?;
    let content = content.unwrap_or_default();
    let (json, valid) = match format {
        VerifyFormat::Cms { .. } => {
            let verdict = signatures::verify_cms(&input, &content, &context);
            (verdict.to_json(), verdict.valid)
        }
        VerifyFormat::Jws { .. } => {
            let jws = String::from_utf8_lossy(&input);
            let verdict = signatures::verify_jws(&jws, &content, &context);
            (verdict.to_json(), verdict.valid)
        }
        VerifyFormat::Pdf { .. } => {
            let verdicts = signatures::verify_pdf(&input, &context);
            let valid = !verdicts.is_empty() && verdicts.iter().all(|v| v.valid);
            let mut json = verdicts.last().map(|v| v.to_json()).unwrap_or_default();
            // The document is valid when every signature is; the first refusal says why not.
            if let Some(refused) = verdicts.iter().find(|v| !v.valid) {
                json["valid"] = false.into();
                if let Some(reason) = refused.reason {
                    json["reason"] = reason.as_str().into();
                }
            }
            json["signatures"] = verdicts.iter().map(|v| v.to_json()).collect();
            (json, valid)
        }
    };
    Ok(Printed::Verdict {
        json: json.to_string(),
        valid,
    })
}
