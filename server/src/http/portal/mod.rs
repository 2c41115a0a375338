//! The web portal: a few server-rendered pages (enrol, register a passkey, sign in, my account,
//! devices and history; staff invitation) and a small script for the WebAuthn calls.

use axum::{
    Router,
    extract::State,
    http::{HeaderValue, header},
    response::{Html, IntoResponse, Redirect, Response},
    routing::get,
};

use crate::{
    domain::sessions::Role, http::AppState, http::error::ApiError,
    http::routes::auth::MaybeSignedIn,
};

const SCRIPT: &str = include_str!("portal.js");
const STYLE: &str = include_str!("portal.css");
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The portal's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/account", get(account))
        .route("/staff/enrol", get(staff_enrol))
        .route("/officer", get(officer_console))
        .route("/authorize", get(authorize))
        .route(
            "/assets/portal.js",
            get(|| async { asset(SCRIPT, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/assets/portal.css",
            get(|| async { asset(STYLE, "text/css; charset=utf-8") }),
        )
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"vi\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · dinhdanh</title><link rel=\"stylesheet\" href=\"/assets/portal.css\"></head>\
         <body><header><h1>dinhdanh · Định danh điện tử</h1></header><main>{body}</main>\
         <script src=\"/assets/portal.js\"></script></body></html>",
        title = escape(title)
    );
    let mut response = Html(html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn home(MaybeSignedIn(principal): MaybeSignedIn) -> Response {
    if principal.is_some_and(|p| p.role.signed_in()) {
        return Redirect::to("/account").into_response();
    }
    page(
        "Đăng ký",
        r#"<section><h2>Đăng nhập / Sign in</h2>
<button id="sign-in" type="button">Đăng nhập bằng passkey / Sign in with a passkey</button>
<p id="sign-in-message" class="message" role="status"></p></section>
<section><h2>Đăng ký tài khoản mức 1 / Enrol (level 1)</h2>
<form id="enrol-form">
<label>Số định danh cá nhân / ID number<input name="id_number" inputmode="numeric" pattern="[0-9]{12}" required></label>
<label>Họ và tên / Full name<input name="full_name" required></label>
<label>Ngày sinh / Date of birth<input name="date_of_birth" type="date" required></label>
<label>Số điện thoại / Phone<input name="phone" type="tel" required></label>
<button type="submit">Gửi mã / Send code</button></form>
<form id="code-form" hidden>
<label>Mã xác thực / Code<input name="code" inputmode="numeric" pattern="[0-9]{6}" required></label>
<button type="submit">Xác nhận / Confirm</button></form>
<p id="enrol-message" class="message" role="status"></p></section>
<section><h2>Khôi phục tài khoản / Recover your account</h2>
<p>Mất điện thoại hoặc passkey? Mã gửi đến số điện thoại đã đăng ký của bạn. / Lost your phone or passkey? A code goes to your registered phone.</p>
<form id="recover-form">
<label>Số định danh cá nhân / ID number<input name="id_number" inputmode="numeric" pattern="[0-9]{12}" required></label>
<label>Họ và tên / Full name<input name="full_name" required></label>
<label>Ngày sinh / Date of birth<input name="date_of_birth" type="date" required></label>
<label>Số điện thoại / Phone<input name="phone" type="tel" required></label>
<button type="submit">Gửi mã / Send code</button></form>
<form id="recover-code-form" hidden>
<label>Mã khôi phục / Recovery code<input name="code" inputmode="numeric" pattern="[0-9]{6}" required></label>
<button type="submit">Xác nhận / Confirm</button></form>
<div id="recovery" hidden>
<p>Mã khôi phục / Recovery: <code id="recovery-id"></code></p>
<p id="recovery-level"></p>
<button id="recover-passkey" type="button">Tạo passkey mới / Create a new passkey</button></div>
<p id="recover-message" class="message" role="status"></p></section>"#,
    )
}

async fn account(
    State(state): State<AppState>,
    MaybeSignedIn(principal): MaybeSignedIn,
) -> Result<Response, ApiError> {
    // Setup and recovery sessions see no account page: they are no sign-in.
    let Some(principal) = principal.filter(|p| p.role.signed_in()) else {
        return Ok(Redirect::to("/").into_response());
    };
    let store = &state.services.store;
    let a = &principal.account;
    let mut body = format!(
        "<section><h2>Tài khoản / My account</h2><dl id=\"account\"><dt>Họ và tên / Name</dt><dd id=\"display-name\">{}</dd>\
         <dt>Vai trò / Role</dt><dd id=\"role\">{}</dd><dt>Mức định danh / Assurance level</dt><dd id=\"level\">{}</dd>",
        escape(&a.display_name),
        escape(a.role.as_str()),
        a.assurance_level.as_i64()
    );
    if let Some(id) = &a.id_number {
        body.push_str(&format!(
            "<dt>Số định danh / ID number</dt><dd>{}</dd>",
            escape(id)
        ));
    }
    if matches!(principal.role, Role::Officer | Role::Admin) {
        body.push_str(
            "<dt>Bàn làm việc / Console</dt><dd><a id=\"officer-link\" href=\"/officer\">Xác thực mức 2 / Level-2 requests</a></dd>",
        );
    }
    body.push_str(
        "</dl><button id=\"sign-out\" type=\"button\">Đăng xuất / Sign out</button>\
                   <p id=\"account-message\" class=\"message\" role=\"status\"></p></section>",
    );

    body.push_str("<section><h2>Passkeys</h2><table id=\"passkeys\"><tr><th>Tên / Name</th><th>Tạo / Created</th><th>Dùng / Last used</th><th></th></tr>");
    for p in store
        .passkeys(&a.id)
        .await?
        .iter()
        .filter(|p| p.revoked_at.is_none())
    {
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><button type=\"button\" data-revoke=\"/v1/me/passkeys/{}\">Thu hồi / Revoke</button></td></tr>",
            escape(&p.name),
            crate::platform::clock::rfc3339(p.created_at),
            p.last_used_at.map(crate::platform::clock::rfc3339).unwrap_or_default(),
            escape(&p.id)
        ));
    }
    body.push_str("</table><label>Tên passkey mới / New passkey name<input id=\"passkey-name\"></label>\
                   <button id=\"add-passkey\" type=\"button\">Thêm passkey / Add a passkey</button></section>");

    if principal.role == Role::Citizen {
        body.push_str("<section><h2>Thiết bị / Devices</h2><table id=\"devices\"><tr><th>Tên / Name</th><th>Khóa / Key thumbprint</th><th></th></tr>");
        for d in store
            .devices(&a.id)
            .await?
            .iter()
            .filter(|d| d.revoked_at.is_none())
        {
            body.push_str(&format!(
                "<tr><td>{}</td><td><code>{}</code></td><td><button type=\"button\" data-revoke=\"/v1/me/devices/{}\">Thu hồi / Revoke</button></td></tr>",
                escape(&d.name),
                escape(&d.thumbprint),
                escape(&d.id)
            ));
        }
        body.push_str("</table></section>");

        // Signing certificates: requested from the app (the key stays on the phone); here the
        // citizen sees them and revokes one, e.g. after losing the phone.
        body.push_str("<section><h2>Chứng thư chữ ký số / Signing certificates</h2><table id=\"signing-certificates\">\
                       <tr><th>Số hiệu / Serial</th><th>Hiệu lực đến / Valid until</th><th>Trạng thái / Status</th><th></th></tr>");
        let now = crate::platform::clock::now();
        for c in store.signing_certificates(&a.id).await? {
            let status = if c.revoked_at.is_some() {
                "Đã thu hồi / Revoked"
            } else if c.not_after <= now {
                "Hết hạn / Expired"
            } else {
                "Hiệu lực / Valid"
            };
            let action = if c.revoked_at.is_none() && c.not_after > now {
                format!(
                    "<button type=\"button\" data-revoke-post=\"/v1/me/signing-certificates/{}/revoke\">Thu hồi / Revoke</button>",
                    escape(&c.id)
                )
            } else {
                String::new()
            };
            body.push_str(&format!(
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&c.serial),
                crate::platform::clock::rfc3339(c.not_after),
                status,
                action
            ));
        }
        body.push_str("</table></section>");
    }

    body.push_str("<section><h2>Lịch sử / History</h2><table id=\"history\"><tr><th>Thời gian / Time</th><th>Sự kiện / Event</th><th>Bởi / By</th></tr>");
    for e in store.history(&a.id, 100).await? {
        let by = crate::domain::audit::actor_relation(&e.actor, &a.id);
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            crate::platform::clock::rfc3339(e.at),
            escape(&e.action),
            escape(by)
        ));
    }
    body.push_str("</table></section>");
    Ok(page("Tài khoản", &body))
}

/// The officer console: pending level-2 requests with the chip check, the registry match and the
/// portrait; approve or reject each.
async fn officer_console(
    State(state): State<AppState>,
    MaybeSignedIn(principal): MaybeSignedIn,
) -> Result<Response, ApiError> {
    let Some(_officer) = principal.filter(|p| matches!(p.role, Role::Officer | Role::Admin)) else {
        return Ok(Redirect::to("/").into_response());
    };
    let requests = crate::domain::kyc::pending(&state.services).await?;
    let mut body = String::from(
        "<section><h2>Yêu cầu định danh mức 2 / Level-2 requests</h2>\
         <p id=\"officer-message\" class=\"message\" role=\"status\"></p>",
    );
    if requests.is_empty() {
        body.push_str(
            "<p id=\"no-requests\">Không có yêu cầu chờ xử lý. / No pending request.</p>",
        );
    }
    for r in &requests {
        let citizen = r.citizen.as_ref();
        let yes_no = |ok: bool| if ok { "✓" } else { "✗" };
        let name_match = match r.registry.name {
            crate::domain::registry::names::NameMatch::Exact => "✓",
            crate::domain::registry::names::NameMatch::WithoutDiacritics => {
                "≈ (không dấu / without diacritics)"
            }
            crate::domain::registry::names::NameMatch::Mismatch => "✗",
        };
        body.push_str(&format!(
            "<article class=\"request\" data-request=\"{id}\"><h3>{name} · {number}</h3>\
             {portrait}<dl>\
             <dt>Ngày sinh / Date of birth</dt><dd>{dob}</dd>\
             <dt>Chip (ICAO 9303)</dt><dd>✓ {ds} → {csca} ({hash}, {alg})</dd>\
             <dt>Thẻ hết hạn / Card expires</dt><dd class=\"card-expiry\">{expiry}</dd>\
             <dt>Số định danh / ID number</dt><dd>{id_ok}</dd>\
             <dt>Họ tên / Name</dt><dd>{name_ok}</dd>\
             <dt>Ngày sinh / Date of birth</dt><dd>{dob_ok}</dd>\
             <dt>Gửi lúc / Submitted</dt><dd>{at}</dd></dl>\
             <button type=\"button\" data-approve=\"/v1/level2-requests/{id}/approve\"{disabled}>Phê duyệt / Approve</button>\
             <label>Lý do từ chối / Reason to reject<input data-reason=\"{id}\"></label>\
             <button type=\"button\" data-reject=\"/v1/level2-requests/{id}/reject\" data-for=\"{id}\">Từ chối / Reject</button>\
             <p class=\"message\" data-result=\"{id}\" role=\"status\"></p></article>",
            id = escape(&r.id),
            name = escape(citizen.map_or("", |c| c.full_name.as_str())),
            number = escape(citizen.map_or("", |c| c.id_number.as_str())),
            dob = escape(citizen.map_or("", |c| c.date_of_birth.as_str())),
            portrait = if r.portrait {
                format!(
                    "<img class=\"portrait\" alt=\"Ảnh chân dung / Portrait\" src=\"/v1/level2-requests/{}/portrait\">",
                    escape(&r.id)
                )
            } else {
                String::new()
            },
            ds = escape(&r.chip.document_signer),
            csca = escape(&r.chip.csca),
            hash = escape(&r.chip.hash_algorithm),
            alg = escape(&r.chip.signature_algorithm),
            expiry = escape(
                r.chip
                    .card_expires_on
                    .as_deref()
                    .unwrap_or(&r.chip.card_expiry)
            ),
            id_ok = yes_no(r.registry.id_number),
            name_ok = name_match,
            dob_ok = yes_no(r.registry.date_of_birth),
            at = escape(&r.submitted_at),
            disabled = if r.registry.all { "" } else { " disabled" },
        ));
    }
    body.push_str(
        "</section><section><h2>Khôi phục tài khoản tại quầy / Account recovery at the counter</h2>\
         <p>Kiểm tra người và thẻ CCCD trước khi phê duyệt. / Check the person and their card before approving.</p>\
         <form id=\"recovery-lookup\"><label>Mã khôi phục / Recovery<input name=\"recovery_id\" required></label>\
         <button type=\"submit\">Tra cứu / Look up</button></form>\
         <dl id=\"recovery-citizen\" hidden><dt>Họ tên / Name</dt><dd data-field=\"full_name\"></dd>\
         <dt>Số định danh / ID number</dt><dd data-field=\"id_number\"></dd>\
         <dt>Ngày sinh / Date of birth</dt><dd data-field=\"date_of_birth\"></dd></dl>\
         <button id=\"recovery-approve\" type=\"button\" hidden>Phê duyệt khôi phục / Approve the recovery</button>\
         <p id=\"recovery-message\" class=\"message\" role=\"status\"></p></section>",
    );
    Ok(page("Cán bộ", &body))
}

/// The query of the authorization endpoint.
#[derive(Debug, serde::Deserialize)]
struct AuthorizeQuery {
    client_id: Option<String>,
    request_uri: Option<String>,
}

/// The authorization endpoint of the authorization code flow: shows what the wallet asks for;
/// the citizen approves by signing in with their passkey. The wallet is named by its registered
/// name only: nothing the request carries is shown, so a pushed request cannot put words on the
/// page. An unregistered client gets no page at all (`invalid_client`), only the OAuth error.
async fn authorize(
    State(state): State<AppState>,
    query: axum::extract::Query<AuthorizeQuery>,
) -> Response {
    use crate::domain::issuance::{
        OauthError,
        authorization::{handle_of, pending, registered_client},
    };
    if let Err(error @ OauthError::InvalidClient(_)) =
        registered_client(&state.services, query.client_id.as_deref())
    {
        return error.into_response();
    }
    let handle = query.request_uri.as_deref().and_then(handle_of);
    let request = match handle {
        Some(handle) => pending(&state.services, handle, query.client_id.as_deref())
            .await
            .map(|r| (handle, r)),
        None => Err(OauthError::InvalidRequest(
            "client_id and a request_uri from the pushed authorization request endpoint are required".into(),
        )),
    };
    let (handle, (client, request)) = match request {
        Ok(found) => found,
        Err(error) => {
            let mut response = page(
                "Yêu cầu không hợp lệ",
                &format!(
                    "<section><h2>Yêu cầu không hợp lệ / Invalid request</h2><p id=\"authorize-error\">{}</p></section>",
                    escape(&error.to_string())
                ),
            );
            *response.status_mut() = axum::http::StatusCode::BAD_REQUEST;
            return response;
        }
    };
    let kinds: String = request
        .configuration_ids
        .iter()
        .filter_map(|id| dinhdanh_sdk::vc::CredentialKind::from_id(id))
        .map(|k| format!("<li>{} / {}</li>", escape(k.name_vi()), escape(k.name_en())))
        .collect();
    page(
        "Cấp giấy tờ",
        &format!(
            "<section id=\"authorize\" data-handle=\"{handle}\"><h2>Cấp giấy tờ điện tử / Issue credentials</h2>\
             <p>Ví <strong id=\"client-name\">{client}</strong> yêu cầu / The wallet asks for:</p><ul id=\"requested\">{kinds}</ul>\
             <button id=\"approve-authorization\" type=\"button\">Đăng nhập bằng passkey và đồng ý / Sign in with your passkey and approve</button>\
             <p id=\"authorize-message\" class=\"message\" role=\"status\"></p></section>",
            handle = escape(handle),
            client = escape(&client.name),
        ),
    )
}

async fn staff_enrol() -> Response {
    page(
        "Cán bộ",
        "<section id=\"staff-enrol\"><h2>Kích hoạt tài khoản cán bộ / Staff account activation</h2>\
         <p id=\"staff-message\" class=\"message\" role=\"status\">…</p></section>",
    )
}
