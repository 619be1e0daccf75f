//! The measured window's switch: a "magic" NOP that the guest executes and
//! the plugin recognises from its bytes when QEMU translates it, since
//! plugin API version 1 cannot read the guest's registers.
//!
//! `nopw DISP(%rax,%rax,1)` with a 32-bit displacement, 9 bytes:
//! `66 0f 1f 84 00` and the displacement, little-endian, whose upper half
//! is `0xfa57` and lower half the command.  On a CPU, or in an emulator
//! without the plugin, it does nothing.

/// The displacement's upper half.
pub const MAGIC: u32 = 0xfa57_0000;
/// The instruction's length.
pub const NOP_LEN: usize = 9;
const OPCODE: [u8; 5] = [0x66, 0x0f, 0x1f, 0x84, 0x00];

/// What the guest asks of the plugin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Close the window and write the results.
    Stop = 0,
    /// Forget everything and open the window.
    Start = 1,
    /// The next memory access of this vCPU marks its line (not counted).
    Mark = 2,
}

/// The instruction's bytes for `cmd`.
pub fn encode(cmd: Command) -> [u8; NOP_LEN] {
    let mut b = [0; NOP_LEN];
    b[..5].copy_from_slice(&OPCODE);
    b[5..].copy_from_slice(&(MAGIC | cmd as u32).to_le_bytes());
    b
}

/// The command an instruction's bytes encode, if they are a magic NOP.
pub fn decode(bytes: &[u8]) -> Option<Command> {
    if bytes.len() != NOP_LEN || bytes[..5] != OPCODE {
        return None;
    }
    let disp = u32::from_le_bytes(bytes[5..].try_into().ok()?);
    if disp & 0xffff_0000 != MAGIC {
        return None;
    }
    match disp & 0xffff {
        0 => Some(Command::Stop),
        1 => Some(Command::Start),
        2 => Some(Command::Mark),
        _ => None,
    }
}

/// Executes the magic NOP of `cmd` (a NOP without the plugin).
#[cfg(target_arch = "x86_64")]
pub fn signal(cmd: Command) {
    // SAFETY: each is a NOP: it reads no memory and changes no register
    // or flag; the plugin sees it being translated.
    unsafe {
        match cmd {
            Command::Stop => std::arch::asm!(
                ".byte 0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x57, 0xfa",
                options(nomem, nostack, preserves_flags)
            ),
            Command::Start => std::arch::asm!(
                ".byte 0x66, 0x0f, 0x1f, 0x84, 0x00, 0x01, 0x00, 0x57, 0xfa",
                options(nomem, nostack, preserves_flags)
            ),
            Command::Mark => std::arch::asm!(
                ".byte 0x66, 0x0f, 0x1f, 0x84, 0x00, 0x02, 0x00, 0x57, 0xfa",
                options(nomem, nostack, preserves_flags)
            ),
        }
    }
}

/// Marks the line of `*p`: the Mark NOP and a load of `*p` right after
/// it, in one block, so that no other access of this thread comes
/// between them.
#[cfg(target_arch = "x86_64")]
pub fn mark(p: &std::sync::atomic::AtomicU64) {
    // SAFETY: the NOP does nothing; the load reads the 8 bytes of an
    // AtomicU64 that `p` borrows, aligned, into a scratch register.
    unsafe {
        std::arch::asm!(
            ".byte 0x66, 0x0f, 0x1f, 0x84, 0x00, 0x02, 0x00, 0x57, 0xfa",
            "mov {tmp}, qword ptr [{p}]",
            p = in(reg) p.as_ptr(),
            tmp = out(reg) _,
            options(nostack, preserves_flags, readonly)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for c in [Command::Stop, Command::Start, Command::Mark] {
            assert_eq!(decode(&encode(c)), Some(c));
        }
        assert_eq!(
            encode(Command::Start),
            [0x66, 0x0f, 0x1f, 0x84, 0x00, 0x01, 0x00, 0x57, 0xfa]
        );
    }

    #[test]
    fn other_nops_are_not_commands() {
        // nopw 0x0(%rax,%rax,1), as compilers pad with.
        assert_eq!(decode(&[0x66, 0x0f, 0x1f, 0x84, 0x00, 0, 0, 0, 0]), None);
        assert_eq!(
            decode(&[0x66, 0x0f, 0x1f, 0x84, 0x00, 9, 0, 0x57, 0xfa]),
            None
        );
        assert_eq!(
            decode(&[0x0f, 0x1f, 0x84, 0x00, 0x01, 0x00, 0x57, 0xfa]),
            None
        );
        assert_eq!(decode(&[0x90]), None);
    }

    /// Without the plugin the instructions do nothing.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn signals_are_nops() {
        let a = std::sync::atomic::AtomicU64::new(5);
        signal(Command::Start);
        mark(&a);
        signal(Command::Stop);
        assert_eq!(a.into_inner(), 5);
    }
}
