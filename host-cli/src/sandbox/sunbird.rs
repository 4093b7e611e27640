//! Emulated Sunbird API: not written yet (placeholder).

use super::{Ctx, Emulator, Req, Resp};

/// The emulator's state.
#[derive(Debug, Default)]
pub struct Sunbird {}

impl Emulator for Sunbird {
    fn handle(&mut self, _req: &Req, _ctx: &Ctx<'_>) -> Resp {
        Resp::empty(501)
    }
    fn is_upload(&self, _req: &Req) -> bool {
        false
    }
}
