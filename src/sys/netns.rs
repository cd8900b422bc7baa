//! Named network namespaces, made the way iproute2 makes them, and scoped entry into one.
//! The only module that calls `setns`/`unshare(CLONE_NEWNET)`.

use crate::error::SysError;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{setns, unshare, CloneFlags};
use std::fs::File;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::{mpsc, Arc, Mutex, OnceLock};

/// Where `ip netns` keeps its names.
pub const NETNS_RUN_DIR: &str = "/run/netns";
const NSFS_MAGIC: i64 = 0x6e73_6673;

pub fn path(name: &str) -> PathBuf {
    PathBuf::from(NETNS_RUN_DIR).join(name)
}

fn io_err(e: nix::Error) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

/// Whether `/run/netns/NAME` holds a mounted namespace (and not a bare file left by a crash).
pub fn is_mounted(name: &str) -> bool {
    nix::sys::statfs::statfs(&path(name)).is_ok_and(|s| s.filesystem_type().0 == NSFS_MAGIC)
}

/// The nsfs device and inode of the namespace a path names (`stat -L PATH`).
fn ns_id(path: &std::path::Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// The identity of the network namespace this process runs in (its main thread's: no thread
/// of netlab's stays in another), as `stat -L /proc/self/ns/net` gives it.
pub fn self_identity() -> Option<(u64, u64)> {
    ns_id(std::path::Path::new("/proc/self/ns/net"))
}

/// A path that enters the network namespace with identity `id`: the init process's, or a
/// name under /run/netns.
pub fn path_of(id: (u64, u64)) -> Option<String> {
    let init = std::path::Path::new("/proc/1/ns/net");
    if ns_id(init) == Some(id) {
        return Some(init.display().to_string());
    }
    list().into_iter().map(|n| path(&n)).find(|p| ns_id(p) == Some(id)).map(|p| p.display().to_string())
}

/// What is under /run/netns/NAME: `None` nothing, `Some(true)` a mounted namespace,
/// `Some(false)` anything else ([`exists`] and [`is_mounted`] in one look, mostly one call).
pub fn mount_state(name: &str) -> Option<bool> {
    match nix::sys::statfs::statfs(&path(name)) {
        Ok(s) => Some(s.filesystem_type().0 == NSFS_MAGIC),
        // A dangling symlink is still a name that exists.
        Err(_) => exists(name).then_some(false),
    }
}

/// Whether the name exists at all under /run/netns.
pub fn exists(name: &str) -> bool {
    path(name).symlink_metadata().is_ok()
}

/// Names under /run/netns, sorted.
pub fn list() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(NETNS_RUN_DIR)
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Refuses to work from a private copy of the mount namespace (as under `ip netns exec`):
/// namespaces mounted there would be invisible to everyone else.
pub fn check_mount_propagation() -> Result<(), SysError> {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else { return Ok(()) };
    let mut best: Option<(usize, &str)> = None;
    for line in info.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(mp) = fields.get(4) else { continue };
        let covers = *mp == "/" || NETNS_RUN_DIR == *mp || NETNS_RUN_DIR.starts_with(&format!("{mp}/"));
        if covers && best.is_none_or(|(len, _)| mp.len() >= len) {
            best = Some((mp.len(), line));
        }
    }
    let Some((_, line)) = best else { return Ok(()) };
    let optional: Vec<&str> = line.split(' ').skip(6).take_while(|f| *f != "-").collect();
    let slave_only = optional.iter().any(|f| f.starts_with("master:"))
        && !optional.iter().any(|f| f.starts_with("shared:"));
    if slave_only {
        return Err(SysError::new(
            "checking /run/netns",
            io::Error::other("netlab runs in a private copy of the mount namespace (as under `ip netns exec`), where the namespaces it makes would be invisible to everyone else; run it from the host's mount namespace, e.g. with `nsenter --net=/run/netns/NAME netlab ...`"),
        ));
    }
    Ok(())
}

/// Makes /run/netns a shared mount point, as `ip netns add` does, so that namespace mounts
/// under it propagate to every mount namespace that shares it.
fn ensure_run_dir() -> Result<(), SysError> {
    let op = |e| SysError::new("preparing /run/netns", e);
    std::fs::create_dir_all(NETNS_RUN_DIR).map_err(op)?;
    let flags = MsFlags::MS_SHARED | MsFlags::MS_REC;
    if mount(None::<&str>, NETNS_RUN_DIR, None::<&str>, flags, None::<&str>).is_ok() {
        return Ok(());
    }
    // Not a mount point yet: bind it on itself first.
    mount(Some(NETNS_RUN_DIR), NETNS_RUN_DIR, None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REC, None::<&str>)
        .map_err(|e| op(io_err(e)))?;
    mount(None::<&str>, NETNS_RUN_DIR, None::<&str>, flags, None::<&str>).map_err(|e| op(io_err(e)))
}

/// Where a pooled job runs.
#[derive(Debug, Clone)]
pub enum Place {
    /// The network namespace netlab was started in.
    Host,
    /// An existing named namespace.
    Named(String),
    /// A new namespace, made and mounted at `/run/netns/NAME` first (`ip netns add`), its
    /// `lo` up and marked with the given alias before the name appears.
    New { name: String, mark: String },
}

type Job = Box<dyn FnOnce() + Send>;

/// Threads that exist only to run code inside namespaces. Each job enters its namespace
/// first, so a worker's previous namespace never leaks into the next job, and no thread of
/// the async runtime ever calls `setns`. Reusing threads keeps a 500-namespace lab from
/// paying for 500 thread creations.
struct Pool {
    tx: mpsc::Sender<Job>,
}

const WORKERS: usize = 4;

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..WORKERS {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name("netlab-netns".into())
                .spawn(move || loop {
                    let job = rx.lock().expect("job queue").recv();
                    let Ok(job) = job else { break };
                    job();
                    // Every job enters its own namespace first: a worker goes straight on to
                    // the next one queued, and back to the host only when it falls idle, so
                    // that no namespace is held by an idle worker (one setns a job, not two).
                    loop {
                        let next = rx.lock().expect("job queue").try_recv();
                        match next {
                            Ok(job) => job(),
                            Err(_) => break,
                        }
                    }
                    if let Ok(host) = host_netns() {
                        let _ = setns(host, CloneFlags::CLONE_NEWNET);
                    }
                })
                .expect("spawning a namespace worker");
        }
        Pool { tx }
    })
}

/// The namespace netlab started in. Read from the main thread's entry, which never moves
/// except for `netlab exec`, which does not use the pool.
fn host_netns() -> io::Result<&'static File> {
    static HOST: OnceLock<File> = OnceLock::new();
    if let Some(f) = HOST.get() {
        return Ok(f);
    }
    let f = File::open("/proc/self/ns/net")?;
    Ok(HOST.get_or_init(|| f))
}

/// `/run/netns` made shared, and the mount namespace checked, once per process.
fn prepare_run_dir() -> io::Result<()> {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    READY
        .get_or_init(|| {
            ensure_run_dir().map_err(|e| e.to_string())?;
            check_mount_propagation().map_err(|e| e.to_string())
        })
        .clone()
        .map_err(io::Error::other)
}

fn enter(place: &Place) -> io::Result<()> {
    match place {
        Place::Host => setns(host_netns()?, CloneFlags::CLONE_NEWNET).map_err(io_err),
        Place::Named(n) => setns(File::open(path(n))?, CloneFlags::CLONE_NEWNET).map_err(io_err),
        Place::New { name, mark } => {
            prepare_run_dir()?;
            let target = path(name);
            std::fs::OpenOptions::new().write(true).create_new(true).mode(0o444).open(&target)?;
            // Marked before it is mounted: a namespace under a lab's name without the lab's
            // mark is never the lab's.
            let made = unshare(CloneFlags::CLONE_NEWNET)
                .map_err(io_err)
                .and_then(|()| super::netlink::dump::mark_lo_here(mark))
                .and_then(|()| {
                    mount(
                        Some("/proc/thread-self/ns/net"),
                        &target,
                        None::<&str>,
                        MsFlags::MS_BIND,
                        None::<&str>,
                    )
                    .map_err(io_err)
                });
            if let Err(e) = made {
                let _ = std::fs::remove_file(&target);
                return Err(e);
            }
            Ok(())
        }
    }
}

/// Runs `f` on each of `items` over at most `threads` threads of their own, each working
/// through its share without a pause, and returns the results in the order of `items`.
/// What a thread finished before a panic keeps its result; an item whose thread panicked, or
/// could not be started (the system's thread limit), gets an error of its own (the outer
/// one) rather than taking the rest down.
pub fn spread<I: Sync, R: Send>(
    items: &[I],
    threads: usize,
    f: impl Fn(&I) -> R + Sync,
) -> Vec<io::Result<R>> {
    let threads = threads.clamp(1, items.len().max(1));
    let out: Vec<Mutex<Option<io::Result<R>>>> = items.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        let (f, out) = (&f, &out);
        let mut workers = Vec::new();
        for t in 0..threads {
            let share = move || {
                for i in (t..items.len()).step_by(threads) {
                    let r = f(&items[i]);
                    *out[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(Ok(r));
                }
            };
            match std::thread::Builder::new().name("netlab-spread".into()).spawn_scoped(scope, share) {
                Ok(w) => workers.push(w),
                Err(e) => {
                    for i in (t..items.len()).step_by(threads) {
                        let why = io::Error::new(e.kind(), format!("no thread to run on: {e}"));
                        *out[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(Err(why));
                    }
                }
            }
        }
        for w in workers {
            let _ = w.join();
        }
    });
    out.into_iter()
        .map(|r| {
            r.into_inner()
                .unwrap_or_else(|p| p.into_inner())
                .unwrap_or_else(|| Err(io::Error::other("its thread panicked")))
        })
        .collect()
}

/// Runs `f` inside each of the named namespaces (see [`spread`]): for a look into every
/// namespace of a large lab at once (`down`'s ownership check), where a job a namespace on
/// the pool costs a hand-over each. Each thread ends in the last namespace it entered, and
/// ends: none stays there.
pub fn in_each<T: Send>(
    names: &[String],
    threads: usize,
    f: impl Fn() -> io::Result<T> + Sync,
) -> Vec<io::Result<T>> {
    let inside = |name: &String| -> io::Result<T> {
        setns(File::open(path(name))?, CloneFlags::CLONE_NEWNET).map_err(io_err)?;
        f()
    };
    spread(names, threads, inside).into_iter().map(|r| r.and_then(|r| r)).collect()
}

/// Runs `f` on a pooled thread placed in `place` and returns its result. For `Place::New`,
/// a failure of `f` removes the namespace again.
pub async fn run<T: Send + 'static>(
    place: Place,
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let result = match enter(&place) {
            // Nothing was made (the name may be someone else's): nothing to undo.
            Err(e) => Err(e),
            Ok(()) => {
                let r = f();
                if let (Err(_), Place::New { name, .. }) = (&r, &place) {
                    let _ = delete(name);
                }
                r
            }
        };
        let _ = tx.send(result);
    });
    pool().tx.send(job).map_err(|_| io::Error::other("namespace workers are gone"))?;
    rx.await.unwrap_or_else(|_| Err(io::Error::other("namespace worker panicked")))
}

/// Removes a namespace name (`ip netns del`): kill every process still inside it, detach the
/// mount, unlink the file. Missing is done.
pub fn delete(name: &str) -> Result<(), SysError> {
    delete_checked(name, true)
}

/// The identity (nsfs device, inode) of named namespace `name`, as processes inside it
/// show it in `/proc/PID/ns/net`.
pub fn id_of(name: &str) -> Option<(u64, u64)> {
    ns_id(&path(name))
}

/// [`delete`], where `look_for_processes` is false when a scan of /proc has just found no
/// process inside (see `process::pids_by_netns`).
pub fn delete_checked(name: &str, look_for_processes: bool) -> Result<(), SysError> {
    let target = path(name);
    // Nothing may keep the namespace alive once its name is gone.
    if look_for_processes {
        crate::sys::process::kill_in_netns(&target);
    }
    match umount2(&target, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::Error::EINVAL) | Err(nix::Error::ENOENT) => {}
        Err(e) => return Err(SysError::new(format!("deleting netns {name}"), io_err(e))),
    }
    match std::fs::remove_file(&target) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(SysError::new(format!("deleting netns {name}"), e)),
    }
}

/// Moves the calling thread into network namespace `name` for good (`nsenter --net`), and
/// nothing else: for `netlab exec` in a container-like node, whose command makes its own
/// mount view.
pub fn enter_net(name: &str) -> io::Result<()> {
    let file = File::open(path(name))?;
    setns(&file, CloneFlags::CLONE_NEWNET).map_err(io_err)
}

/// Moves the calling process into namespace `name` for good, as `ip netns exec` does: the
/// network namespace, then a private mount namespace with the namespace's own /sys, so that
/// tools reading /sys/class/net see the node's interfaces. For `netlab exec` only, which
/// replaces the process right after; it must still be single-threaded.
pub fn enter_for_exec(name: &str) -> io::Result<()> {
    let file = File::open(path(name))?;
    setns(&file, CloneFlags::CLONE_NEWNET).map_err(io_err)?;
    unshare(CloneFlags::CLONE_NEWNS).map_err(io_err)?;
    mount(None::<&str>, "/", None::<&str>, MsFlags::MS_SLAVE | MsFlags::MS_REC, None::<&str>)
        .map_err(io_err)?;
    // A /sys that cannot be replaced leaves the host's view there, as with `ip netns exec`.
    if umount2("/sys", MntFlags::MNT_DETACH).is_ok() {
        let _ = mount(Some(name), "/sys", Some("sysfs"), MsFlags::empty(), None::<&str>);
    }
    Ok(())
}

/// Where the pool runs code for a lab namespace reference.
pub fn place(ns: &crate::model::NsRef) -> Place {
    match ns {
        crate::model::NsRef::Host => Place::Host,
        crate::model::NsRef::Named(n) => Place::Named(n.clone()),
    }
}

/// Runs `f` on a thread of its own inside namespace `name` (`None`: this one), for blocking
/// work that must not hold a pooled worker, such as a probe waiting out its timeout.
pub fn spawn_in<T: Send + 'static>(
    name: Option<String>,
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> std::thread::JoinHandle<io::Result<T>> {
    std::thread::spawn(move || {
        if let Some(n) = name {
            let file = File::open(path(&n))?;
            setns(&file, CloneFlags::CLONE_NEWNET).map_err(io_err)?;
        }
        f()
    })
}

/// A command that runs inside namespace `name`: the child enters it between fork and exec.
/// Works from any program, threads and all, since the child only calls `setns`.
pub fn command_in(name: &str, program: &str) -> io::Result<std::process::Command> {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let file =
        File::open(path(name)).map_err(|e| io::Error::new(e.kind(), format!("opening netns {name}: {e}")))?;
    let mut cmd = std::process::Command::new(program);
    // SAFETY: setns is async-signal-safe; `file` lives in the closure, so its fd stays open
    // until the command is spawned.
    unsafe {
        cmd.pre_exec(move || {
            if nix::libc::setns(file.as_raw_fd(), nix::libc::CLONE_NEWNET) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    Ok(cmd)
}

/// Runs `f` on a thread of its own in a new, unnamed network namespace that disappears with
/// the thread: for probing what the kernel can do without touching any real interface.
pub fn in_scratch_netns<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    std::thread::spawn(move || {
        unshare(CloneFlags::CLONE_NEWNET).map_err(io_err)?;
        f()
    })
    .join()
    .unwrap_or_else(|_| Err(io::Error::other("probe thread panicked")))
}

#[cfg(test)]
mod spread_tests {
    use super::spread;

    #[test]
    fn results_come_back_in_order_and_a_panic_costs_only_its_threads_share_from_there() {
        let items: Vec<u32> = (0..100).collect();
        let got = spread(&items, 7, |&i| {
            if i == 42 {
                panic!("item 42");
            }
            i * 2
        });
        assert_eq!(got.len(), 100);
        for (i, r) in got.iter().enumerate() {
            if let Ok(v) = r {
                assert_eq!(*v, 2 * i as u32, "item {i} has its own result");
            }
        }
        // The items its thread had after 42 went unrun: those fail too, and say why.
        let failed: Vec<usize> = got.iter().enumerate().filter(|(_, r)| r.is_err()).map(|(i, _)| i).collect();
        assert_eq!(
            failed,
            (42..100).step_by(7).collect::<Vec<_>>(),
            "the panicking thread's share from 42 on"
        );
    }

    #[test]
    fn no_items_and_more_threads_than_items_are_fine() {
        assert!(spread(&[] as &[u8], 16, |_| ()).is_empty());
        let got: Vec<u8> = spread(&[1u8, 2], 16, |&x| x).into_iter().map(Result::unwrap).collect();
        assert_eq!(got, [1, 2]);
    }
}
