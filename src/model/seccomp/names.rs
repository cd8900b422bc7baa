//! Syscall names ↔ numbers on the architecture netlab runs on, from netlab's own tables
//! (`table.rs`, generated from the kernel headers plus the calls newer than them), so that a
//! filter can name calls seccompiler's tables do not know (`open_tree_attr`, `file_setattr`).

use super::table;

/// The architectures netlab compiles filters for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Aarch64,
    Riscv64,
}

impl Arch {
    /// The architecture netlab itself was built for: the workload runs on this kernel as a
    /// native process.
    pub fn native() -> Result<Arch, String> {
        Arch::from_name(std::env::consts::ARCH).ok_or_else(|| {
            format!(
                "seccomp filters are not supported on {}; netlab knows the syscalls of x86_64, aarch64 and riscv64",
                std::env::consts::ARCH
            )
        })
    }

    pub fn from_name(name: &str) -> Option<Arch> {
        match name {
            "x86_64" => Some(Arch::X86_64),
            "aarch64" => Some(Arch::Aarch64),
            "riscv64" => Some(Arch::Riscv64),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
            Arch::Riscv64 => "riscv64",
        }
    }

    fn tables(self) -> [&'static [(&'static str, u32)]; 2] {
        match self {
            Arch::X86_64 => [table::X86_64, &[]],
            Arch::Aarch64 => [table::GENERIC64, &[]],
            Arch::Riscv64 => [table::GENERIC64, table::RISCV64_EXTRA],
        }
    }

    /// The number of syscall `name` on this architecture.
    pub fn nr(self, name: &str) -> Option<u32> {
        self.tables().iter().flat_map(|t| t.iter()).find(|(n, _)| *n == name).map(|&(_, nr)| nr)
    }

    /// The name of syscall number `nr` on this architecture.
    pub fn name_of(self, nr: u32) -> Option<&'static str> {
        self.tables().iter().flat_map(|t| t.iter()).find(|&&(_, n)| n == nr).map(|&(name, _)| name)
    }

    /// Every syscall name of this architecture.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        self.tables().into_iter().flat_map(|t| t.iter()).map(|&(n, _)| n)
    }
}

/// What netlab knows of a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    /// A syscall of the running architecture, with its number.
    Native(u32),
    /// A real syscall, of another architecture or ABI only (`iopl` on aarch64, `chown32`):
    /// a rule naming it has nothing to match here and is left out.
    Foreign,
    /// Not a syscall netlab knows of, anywhere.
    Unknown,
}

pub fn lookup(arch: Arch, name: &str) -> Known {
    if let Some(nr) = arch.nr(name) {
        return Known::Native(nr);
    }
    let elsewhere = [Arch::X86_64, Arch::Aarch64, Arch::Riscv64].iter().any(|a| a.nr(name).is_some())
        || table::FOREIGN.contains(&name);
    if elsewhere {
        Known::Foreign
    } else {
        Known::Unknown
    }
}

/// Whether `name` is a syscall of the running architecture.
pub fn is_known_syscall(name: &str) -> bool {
    Arch::native().is_ok_and(|a| a.nr(name).is_some())
}

/// The number of syscall `name` on the running architecture.
pub fn syscall_nr(name: &str) -> Option<u32> {
    Arch::native().ok()?.nr(name)
}

/// The closest syscall name to a misspelt one, when there is a convincing one.
pub fn suggest(name: &str) -> Option<&'static str> {
    let arch = Arch::native().ok()?;
    let limit = if name.len() <= 4 { 1 } else { 2 };
    arch.names()
        .map(|n| (edit_distance(name, n), n))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, n)| (d, n.len()))
        .map(|(_, n)| n)
}

/// The "did you mean" part of an error about `name`, or a general hint.
pub fn unknown_hint(name: &str) -> String {
    match suggest(name) {
        Some(s) => format!("did you mean \"{s}\"? (see `man 2 syscalls` for the names)"),
        None => "see `man 2 syscalls` for the names".to_string(),
    }
}

/// Levenshtein distance (in bytes: syscall names are ASCII).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_of_x86_64_and_the_generic_table() {
        assert_eq!(Arch::X86_64.nr("read"), Some(0));
        assert_eq!(Arch::X86_64.nr("unshare"), Some(272));
        assert_eq!(Arch::X86_64.nr("clone3"), Some(435));
        assert_eq!(Arch::X86_64.nr("open_tree_attr"), Some(467));
        assert_eq!(Arch::X86_64.nr("file_setattr"), Some(469));
        assert_eq!(Arch::X86_64.nr("uretprobe"), Some(335));
        assert_eq!(Arch::Aarch64.nr("unshare"), Some(97));
        assert_eq!(Arch::Aarch64.nr("mkdir"), None);
        assert_eq!(Arch::Aarch64.nr("open_tree_attr"), Some(467));
        assert_eq!(Arch::Riscv64.nr("riscv_flush_icache"), Some(259));
        assert_eq!(Arch::X86_64.name_of(272), Some("unshare"));
    }

    #[test]
    fn names_are_native_foreign_or_unknown() {
        assert_eq!(lookup(Arch::X86_64, "unshare"), Known::Native(272));
        assert_eq!(lookup(Arch::Aarch64, "iopl"), Known::Foreign);
        assert_eq!(lookup(Arch::X86_64, "chown32"), Known::Foreign);
        assert_eq!(lookup(Arch::X86_64, "arm_fadvise64_64"), Known::Foreign);
        assert_eq!(lookup(Arch::X86_64, "frobnicate"), Known::Unknown);
        assert_eq!(lookup(Arch::X86_64, ""), Known::Unknown);
    }

    #[test]
    fn suggestions_for_misspelt_names() {
        if Arch::native() != Ok(Arch::X86_64) {
            return;
        }
        assert_eq!(suggest("unshar"), Some("unshare"));
        assert_eq!(suggest("moutn"), Some("mount"));
        assert_eq!(suggest("frobnicate"), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
