//! The OpenAPI 3.1 document, generated from the handlers' annotations and the types they use.

use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

use super::{enrolments, me, passkeys, registry, system};

/// The API description served at `/openapi.json`.
#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "dinhdanh identity server", description = "Population registry, level-1 enrolment, passkeys, devices and audit history. Errors are RFC 9457 problem+json."),
    paths(
        enrolments::start, enrolments::confirm,
        passkeys::start_registration, passkeys::finish_registration,
        passkeys::start_sign_in, passkeys::finish_sign_in, passkeys::sign_out, passkeys::redeem_invitation,
        me::account, me::passkeys, me::revoke_passkey, me::devices, me::add_device, me::revoke_device, me::history,
        registry::citizen, registry::lookup, registry::staff,
        system::live, system::ready, system::metrics, system::assetlinks, system::apple_app_site_association,
    ),
    components(schemas(crate::error::Problem)),
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
