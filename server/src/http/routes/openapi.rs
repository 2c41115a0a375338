//! The OpenAPI 3.1 document, generated from the handlers' annotations and the types they use.

use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

use super::{
    credentials, enrolments, level2, me, oid4vci, passkeys, recoveries, registry, signing, system,
    trust,
};

/// The API description served at `/openapi.json`.
#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "dinhdanh identity server", description = "Population registry, enrolment, account recovery, passkeys, devices, audit history, credential issuance (OpenID4VCI 1.0) with status lists, the relying-party trust data (RP CA, CRL, registrations' status list, trust bundle), and citizen signing certificates with their CRL, OCSP responder (RFC 6960) and time-stamp authority (RFC 3161). API errors are RFC 9457 problem+json; the OpenID4VCI endpoints answer with the specifications' error codes."),
    paths(
        enrolments::start, enrolments::confirm,
        recoveries::start, recoveries::confirm, recoveries::show, recoveries::chip, recoveries::approve,
        passkeys::start_registration, passkeys::finish_registration,
        passkeys::start_sign_in, passkeys::finish_sign_in, passkeys::sign_out, passkeys::redeem_invitation,
        me::account, me::passkeys, me::revoke_passkey, me::devices, me::add_device, me::revoke_device, me::history,
        registry::citizen, registry::lookup, registry::staff,
        credentials::offer_to_me, credentials::my_offers, credentials::my_credentials,
        credentials::offer_at_counter, credentials::citizen_credentials,
        credentials::revoke_citizen_credentials, credentials::withdraw_level2, credentials::close_account,
        credentials::revoke_copy, credentials::suspend_copy, credentials::reinstate_copy,
        oid4vci::credential_issuer_metadata, oid4vci::authorization_server_metadata,
        oid4vci::jwt_vc_issuer_metadata, oid4vci::issuer_root, oid4vci::token, oid4vci::nonce,
        oid4vci::credential, oid4vci::status_list, oid4vci::pushed_authorization_request,
        credentials::approve_authorization,
        level2::submit, level2::mine, level2::pending, level2::portrait, level2::approve, level2::reject,
        trust::rp_root, trust::rp_crl, trust::rp_status_list, trust::bundle,
        signing::request_certificate, signing::my_certificates, signing::revoke_mine,
        signing::citizen_certificates, signing::revoke_by_staff,
        signing::crl, signing::ocsp_post, signing::ocsp_get, signing::tsa,
        system::live, system::ready, system::metrics, system::assetlinks, system::apple_app_site_association,
    ),
    components(schemas(crate::http::error::Problem)),
    modifiers(&SessionAuth),
)]
pub struct ApiDoc;

struct SessionAuth;

impl Modify for SessionAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A session token"))
                    .build(),
            ),
        );
    }
}
