//! The guest side of [`Policy`] (feature `policy`): the SDK's own bindings of
//! the contract, and the functions `export_policy!` binds to them.
//!
//! The bindings are generated here once, so that a plugin built on [`Policy`]
//! needs no `wit_bindgen::generate!` of its own. Their export macro is public
//! (`pub_export_macro`), and carries the contract's description, which the
//! component encoder reads, into the plugin that invokes it; the SDK itself
//! only carries an imports-only description (under its own section name, so it
//! never collides with a plugin's own bindings).

use std::any::Any;
use std::cell::RefCell;

use crate::{decide_batch, load_settings, Policy};

/// The contract's bindings, generated from `../wit` (the `plugin` world).
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "plugin",
        pub_export_macro: true,
        export_macro_name: "export",
        default_bindings_module: "coexist_plugin_sdk::guest::bindings",
        runtime_path: "coexist_plugin_sdk::guest::rt",
        type_section_suffix: "-coexist-plugin-sdk",
    });
}

#[doc(hidden)]
pub use wit_bindgen::rt;

crate::wit_glue!(crate::guest::bindings::exports::coexist::policy::policy);

use bindings::exports::coexist::policy::policy as wit;

thread_local! {
    /// The settings `configure` read, as the plugin's `Policy::Settings`. An
    /// instance serves one batch, so they never outlive it.
    static SETTINGS: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
}

/// `info`: the policy's name and version.
pub fn info<P: Policy>() -> wit::PluginInfo {
    wit::PluginInfo { name: P::NAME.to_owned(), version: P::VERSION.to_owned() }
}

/// `configure`: reads and checks the settings and keeps them for `evaluate`;
/// refused settings keep none and answer the [`SettingsError`](crate::SettingsError)'s text.
pub fn configure<P: Policy>(json: String) -> Result<(), String> {
    let settings = load_settings::<P>(&json).map_err(|e| e.to_string())?;
    SETTINGS.with(|slot| *slot.borrow_mut() = Some(Box::new(settings)));
    Ok(())
}

/// `evaluate`: runs [`Policy::decide`] on every message, with the configured
/// settings (the defaults when `configure` was not called).
pub fn evaluate<P: Policy>(batch: wit::Batch, so_far: wit::Decisions) -> wit::Decisions {
    SETTINGS.with(|slot| {
        let configured = slot.borrow();
        let configured = configured.as_ref().and_then(|settings| settings.downcast_ref::<P::Settings>());
        let defaults;
        let settings = match configured {
            Some(settings) => settings,
            None => {
                defaults = P::Settings::default();
                &defaults
            }
        };
        wit_glue::evaluate(&batch, so_far, |columns, out| decide_batch::<P>(settings, columns, out))
    })
}

/// Exports a [`Policy`] as the plugin's implementation of the contract:
/// `info`, `configure` and `evaluate` (see [`Policy`]). Invoke it once, at the
/// root of the plugin crate (a `cdylib`), with the policy's type:
///
/// ```ignore
/// coexist_plugin_sdk::export_policy!(TestNumbersFree);
/// ```
///
/// The exports exist only on `wasm32` (their names hold `:` and `/`, which
/// native linkers refuse), so the crate's native unit tests still link.
/// Needs the SDK's `policy` feature.
#[macro_export]
macro_rules! export_policy {
    ($policy:ty) => {
        /// The contract's guest, bound to the policy (expanded from `coexist_plugin_sdk::export_policy!`).
        #[doc(hidden)]
        pub struct __CoexistPolicyGuest;

        impl $crate::guest::bindings::exports::coexist::policy::policy::Guest for __CoexistPolicyGuest {
            fn info() -> $crate::guest::bindings::exports::coexist::policy::policy::PluginInfo {
                $crate::guest::info::<$policy>()
            }

            fn configure(settings: ::std::string::String) -> ::core::result::Result<(), ::std::string::String> {
                $crate::guest::configure::<$policy>(settings)
            }

            fn evaluate(
                batch: $crate::guest::bindings::exports::coexist::policy::policy::Batch,
                so_far: $crate::guest::bindings::exports::coexist::policy::policy::Decisions,
            ) -> $crate::guest::bindings::exports::coexist::policy::policy::Decisions {
                $crate::guest::evaluate::<$policy>(batch, so_far)
            }
        }

        #[cfg(target_arch = "wasm32")]
        $crate::guest::bindings::export!(__CoexistPolicyGuest with_types_in $crate::guest::bindings);
    };
}
