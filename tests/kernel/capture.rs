//! `netlab capture` and `netlab test --pcap`, as root: real AF_PACKET sockets in the nodes'
//! namespaces, real pings between them; the files read back by `tcpdump -r` and by a small
//! pcapng parser of the test's own.

use crate::support::*;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const TWO_LINKS: &str = r#"
[nodes.a]
[nodes.b]
[[links]]
endpoints = ["a:eth0", "b:eth0"]
addresses = ["10.78.0.1/24", "10.78.0.2/24"]
[[links]]
endpoints = ["a:eth1", "b:eth1"]
addresses = ["10.78.1.1/24", "10.78.1.2/24"]
"#;

/// A pcapng file as read: the interfaces' names, and each packet as (interface id, bytes).
#[derive(Debug, Default)]
struct Pcapng {
    ifaces: Vec<String>,
    packets: Vec<(u32, Vec<u8>)>,
}

fn u32le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// Reads a little-endian pcapng file, checking every block's two lengths agree.
fn parse(b: &[u8]) -> Pcapng {
    let mut out = Pcapng::default();
    assert!(b.len() >= 28 && u32le(b, 0) == 0x0A0D0D0A, "no section header");
    assert_eq!(u32le(b, 8), 0x1A2B3C4D, "byte-order magic");
    let mut at = 0;
    while at < b.len() {
        let (kind, len) = (u32le(b, at), u32le(b, at + 4) as usize);
        assert!(len >= 12 && at + len <= b.len(), "block at {at} runs past the end");
        assert_eq!(u32le(b, at + len - 4) as usize, len, "trailing length of block at {at}");
        let body = &b[at + 8..at + len - 4];
        match kind {
            1 => {
                let mut o = 8;
                let mut name = String::new();
                while o + 4 <= body.len() {
                    let code = u16::from_le_bytes([body[o], body[o + 1]]);
                    let l = u16::from_le_bytes([body[o + 2], body[o + 3]]) as usize;
                    if code == 0 {
                        break;
                    }
                    if code == 2 {
                        name = String::from_utf8_lossy(&body[o + 4..o + 4 + l]).into_owned();
                    }
                    o += 4 + l.div_ceil(4) * 4;
                }
                out.ifaces.push(name);
            }
            6 => {
                let (id, caplen) = (u32le(body, 0), u32le(body, 12) as usize);
                assert!((id as usize) < out.ifaces.len(), "packet of an undeclared interface {id}");
                out.packets.push((id, body[20..20 + caplen].to_vec()));
            }
            _ => {}
        }
        at += len;
    }
    out
}

/// The ICMP type of an Ethernet frame carrying IPv4 ICMP; `None` for anything else.
fn icmp_type(frame: &[u8]) -> Option<u8> {
    if frame.len() < 34 || frame[12..14] != [0x08, 0x00] || frame[23] != 1 {
        return None;
    }
    let ihl = (frame[14] & 0x0f) as usize * 4;
    frame.get(14 + ihl).copied()
}

fn is_udp(frame: &[u8]) -> bool {
    frame.len() > 23 && frame[12..14] == [0x08, 0x00] && frame[23] == 17
}

fn count_icmp(p: &Pcapng, kind: u8) -> usize {
    p.packets.iter().filter(|(_, f)| icmp_type(f) == Some(kind)).count()
}

/// Starts `netlab capture ARGS` and waits until it says it is capturing; the rest of its
/// stderr comes from the thread returned.
fn start_capture(lab: &TestLab, args: &[&str], stdout: Stdio) -> (Child, String, JoinHandle<String>) {
    let mut all = vec!["capture"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--lab", &lab.name]);
    let mut child = lab
        .command(&all)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .expect("capture");
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    assert!(line.contains("capturing on"), "capture did not start: {line}");
    // Drained on a thread, so the capture never blocks on it.
    let rest = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    (child, line, rest)
}

fn sigint(child: &Child) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGINT)
        .unwrap();
}

/// Waits up to 15 s for `child` to end by itself; kills it and fails otherwise.
fn wait_bounded(child: &mut Child) -> i32 {
    let until = Instant::now() + Duration::from_secs(15);
    while Instant::now() < until {
        if let Some(s) = child.try_wait().unwrap() {
            return s.code().unwrap_or(-1);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("capture did not end by itself");
}

fn tcpdump(path: &std::path::Path) -> String {
    let out = Command::new("tcpdump").args(["-nr"]).arg(path).output().expect("tcpdump");
    assert!(out.status.success(), "tcpdump -r: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn pings_are_captured_to_a_file_that_tcpdump_reads_and_sigint_ends_it_whole() {
    if !root_or_skip("capture-file") {
        return;
    }
    let lab = TestLab::new("capf");
    lab.write(TWO_LINKS);
    lab.up();
    let file = lab.dir.join("a.pcapng");
    let (mut child, _, _) = start_capture(&lab, &["a:eth0", "-w", file.to_str().unwrap()], Stdio::null());
    assert_eq!(lab.exec("a", &["ping", "-c3", "-i0.2", "-W2", "10.78.0.2"]).code, 0);
    sigint(&child);
    assert_eq!(wait_bounded(&mut child), 0, "SIGINT ends the capture cleanly");
    let p = parse(&std::fs::read(&file).unwrap());
    assert_eq!(p.ifaces, ["eth0"]);
    assert_eq!(count_icmp(&p, 8), 3, "three echo requests: {p:?}");
    assert_eq!(count_icmp(&p, 0), 3, "three echo replies");
    let text = tcpdump(&file);
    assert_eq!(text.matches("10.78.0.1 > 10.78.0.2: ICMP echo request").count(), 3, "{text}");
    assert_eq!(text.matches("10.78.0.2 > 10.78.0.1: ICMP echo reply").count(), 3, "{text}");
}

#[test]
fn a_filter_to_stdout_keeps_only_icmp_and_count_ends_it() {
    if !root_or_skip("capture-stdout") {
        return;
    }
    let lab = TestLab::new("caps");
    lab.write(TWO_LINKS);
    lab.up();
    let (mut child, line, _) =
        start_capture(&lab, &["a:eth0", "-w", "-", "-f", "icmp", "-c", "5"], Stdio::piped());
    assert!(line.contains("filter \"icmp\""), "{line}");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        stdout.read_to_end(&mut b).unwrap();
        b
    });
    // A UDP datagram first, which the filter must drop (b answers it with an ICMP port
    // unreachable, which it keeps), then two echoes: five ICMP packets.
    let udp = "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'not icmp', ('10.78.0.2', 9))";
    assert_eq!(lab.exec("a", &["python3", "-c", udp]).code, 0);
    assert_eq!(lab.exec("a", &["ping", "-c2", "-i0.2", "-W2", "10.78.0.2"]).code, 0);
    assert_eq!(wait_bounded(&mut child), 0, "-c 5 ends the capture");
    let bytes = reader.join().unwrap();
    let p = parse(&bytes);
    assert_eq!(p.packets.len(), 5, "exactly -c packets: {p:?}");
    assert!(p.packets.iter().all(|(_, f)| icmp_type(f).is_some()), "only ICMP passes the filter");
    assert!(!p.packets.iter().any(|(_, f)| is_udp(f)));
    assert_eq!((count_icmp(&p, 8), count_icmp(&p, 0), count_icmp(&p, 3)), (2, 2, 1));
    // Without the filter the same datagram is there: the filter, not chance, kept it out.
    let file = lab.dir.join("all.pcapng");
    let (mut child, _, _) = start_capture(&lab, &["a:eth0", "-w", file.to_str().unwrap()], Stdio::null());
    assert_eq!(lab.exec("a", &["python3", "-c", udp]).code, 0);
    // An echo after it: once answered, the datagram has left too.
    assert_eq!(lab.exec("a", &["ping", "-c1", "-W2", "10.78.0.2"]).code, 0);
    sigint(&child);
    assert_eq!(wait_bounded(&mut child), 0);
    let p = parse(&std::fs::read(&file).unwrap());
    assert!(p.packets.iter().any(|(_, f)| is_udp(f)), "{p:?}");
}

#[test]
fn every_interface_of_a_node_goes_into_one_file_with_its_own_id() {
    if !root_or_skip("capture-all") {
        return;
    }
    let lab = TestLab::new("capa");
    lab.write(TWO_LINKS);
    lab.up();
    let file = lab.dir.join("all.pcapng");
    let (mut child, _, _) =
        start_capture(&lab, &["a:*", "-w", file.to_str().unwrap(), "-f", "icmp", "-c", "4"], Stdio::null());
    assert_eq!(lab.exec("a", &["ping", "-c1", "-W2", "10.78.0.2"]).code, 0);
    assert_eq!(lab.exec("a", &["ping", "-c1", "-W2", "10.78.1.2"]).code, 0);
    assert_eq!(wait_bounded(&mut child), 0);
    let p = parse(&std::fs::read(&file).unwrap());
    assert_eq!(p.ifaces, ["eth0", "eth1", "lo"]);
    let ids: std::collections::BTreeSet<u32> = p.packets.iter().map(|(i, _)| *i).collect();
    assert_eq!(ids, [0, 1].into(), "echoes on eth0 and eth1, each under its own id: {p:?}");
    assert!(tcpdump(&file).contains("10.78.1.1 > 10.78.1.2: ICMP echo request"));
}

#[test]
fn a_reader_that_goes_away_ends_the_capture_quietly() {
    if !root_or_skip("capture-epipe") {
        return;
    }
    let lab = TestLab::new("capp");
    lab.write(TWO_LINKS);
    lab.up();
    let (mut child, _, _) = start_capture(&lab, &["a:eth0"], Stdio::piped());
    let mut head = [0u8; 4];
    child.stdout.as_mut().unwrap().read_exact(&mut head).unwrap();
    assert_eq!(head, [0x0A, 0x0D, 0x0D, 0x0A], "a section header first");
    drop(child.stdout.take());
    // The next packet written finds the pipe closed.
    let _ = lab.exec("a", &["ping", "-c2", "-i0.2", "-W1", "10.78.0.2"]);
    assert_eq!(wait_bounded(&mut child), 0);
}

#[test]
fn unknown_interfaces_and_bad_filters_are_refused_with_what_exists() {
    if !root_or_skip("capture-errors") {
        return;
    }
    let lab = TestLab::new("cape");
    lab.write(TWO_LINKS);
    lab.up();
    let out = lab.dir.join("x.pcapng");
    let o = out.to_str().unwrap();
    let r = lab.netlab(&["capture", "a:eth7", "-w", o, "--lab", &lab.name]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("node a has no interface eth7; it has: eth0, eth1, lo"), "{r:?}");
    let r = lab.netlab(&["capture", "zz:eth0", "-w", o, "--lab", &lab.name]);
    assert!(r.code == 1 && r.stderr.contains("nodes: a, b"), "{r:?}");
    let r = lab.netlab(&["capture", "a:eth0", "-w", o, "-f", "icmp and and", "--lab", &lab.name]);
    assert!(r.code == 1 && r.stderr.contains("bad filter \"icmp and and\""), "{r:?}");
    let r = lab.netlab(&["capture", "a:*", "-w", o, "--format", "pcap", "--lab", &lab.name]);
    assert!(r.code == 1 && r.stderr.contains("a pcap file holds one interface"), "{r:?}");
    assert!(!out.exists(), "nothing is written before the capture can start");
}

#[test]
fn a_capture_file_is_never_written_through_a_symlink_or_over_another_users_file() {
    if !root_or_skip("capture-output") {
        return;
    }
    let lab = TestLab::new("capo");
    lab.write(TWO_LINKS);
    lab.up();
    let victim = lab.dir.join("victim");
    std::fs::write(&victim, "keep me").unwrap();
    let link = lab.dir.join("link.pcapng");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let args = |p: &std::path::Path| {
        let p = p.to_str().unwrap().to_string();
        vec![
            "capture".to_string(),
            "a:eth0".into(),
            "-w".into(),
            p,
            "-c".into(),
            "1".into(),
            "--duration".into(),
            "1s".into(),
            "--lab".into(),
            lab.name.clone(),
        ]
    };
    let run = |p: &std::path::Path| {
        let a = args(p);
        lab.netlab(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let r = run(&link);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me", "written through the symlink");
    let theirs = lab.dir.join("theirs.pcapng");
    std::fs::write(&theirs, "not yours").unwrap();
    std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
    let r = run(&theirs);
    assert!(r.code == 1 && r.stderr.contains("not a regular file of this user's"), "{r:?}");
    assert_eq!(std::fs::read_to_string(&theirs).unwrap(), "not yours", "another user's file truncated");
    let mine = lab.dir.join("mine.pcapng");
    std::fs::write(&mine, "old contents, longer than a pcapng section header block").unwrap();
    let r = run(&mine);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(&std::fs::read(&mine).unwrap()[..4], &[0x0a, 0x0d, 0x0d, 0x0a], "a fresh pcapng");
}

#[test]
fn the_library_captures_into_a_buffer() {
    if !root_or_skip("capture-lib") {
        return;
    }
    let _turn = Turn::shared();
    let lab = netlab::Lab::from_str(TWO_LINKS).expect("valid topology");
    let up = lab.up().expect("up");
    let cap = up.capture("b:eth0", &netlab::CaptureOptions::default(), Vec::new()).expect("capture");
    assert!(up.exec("a", &["ping", "-c2", "-i0.2", "-W2", "10.78.0.2"]).unwrap().status.success());
    let (summary, bytes) = cap.stop().expect("stop");
    let p = parse(&bytes);
    assert_eq!(summary.packets as usize, p.packets.len());
    assert_eq!((count_icmp(&p, 8), count_icmp(&p, 0)), (2, 2), "{p:?}");
    let e = up.capture("b:nope", &Default::default(), Vec::new()).err().expect("refused");
    assert!(e.to_string().contains("it has: eth0, eth1, lo"), "{e}");
}

#[test]
fn test_pcap_keeps_the_capture_of_a_failed_check_only() {
    if !root_or_skip("capture-test") {
        return;
    }
    let lab = TestLab::new("capt");
    lab.write(&format!(
        "{TWO_LINKS}\n[[check]]\nname = \"a reaches b\"\nfrom = \"a\"\nping = \"10.78.0.2\"\n\
         [[check]]\nname = \"b is blocked (wrong on purpose)\"\nfrom = \"a\"\nping = \"10.78.1.2\"\nexpect = \"fail\"\ntimeout = \"1s\"\n"
    ));
    let dir = lab.dir.join("caps");
    let junit = lab.dir.join("report.xml");
    let r = lab.netlab(&[
        "test",
        lab.file.to_str().unwrap(),
        "--pcap",
        dir.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    let kept: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(kept, ["b_is_blocked__wrong_on_purpose_.pcapng"], "only the failed check's capture");
    let path = dir.canonicalize().unwrap().join(&kept[0]);
    let p = parse(&std::fs::read(&path).unwrap());
    assert!(p.ifaces.contains(&"a:eth1".to_string()) && p.ifaces.contains(&"b:eth1".to_string()), "{p:?}");
    let to_b = |f: &Vec<u8>| icmp_type(f) == Some(8) && f[30..34] == [10, 78, 1, 2];
    assert!(p.packets.iter().any(|(_, f)| to_b(f)), "the check's echo request is there: {p:?}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains(&format!("[[ATTACHMENT|{}]]", path.display())), "{xml}");
    // With --pcap-all the passing check's capture stays too.
    let r = lab.netlab(&["test", lab.file.to_str().unwrap(), "--pcap", dir.to_str().unwrap(), "--pcap-all"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(dir.join("a_reaches_b.pcapng").exists());
}

#[test]
fn classic_pcap_is_read_by_tcpdump_and_a_duration_ends_a_quiet_capture() {
    if !root_or_skip("capture-pcap") {
        return;
    }
    let lab = TestLab::new("capc");
    lab.write(TWO_LINKS);
    lab.up();
    let file = lab.dir.join("a.pcap");
    let args = ["a:eth1", "-w", file.to_str().unwrap(), "--format", "pcap", "-f", "icmp", "-c", "2"];
    let (mut child, _, _) = start_capture(&lab, &args, Stdio::null());
    assert_eq!(lab.exec("a", &["ping", "-c1", "-W2", "10.78.1.2"]).code, 0);
    assert_eq!(wait_bounded(&mut child), 0);
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(bytes[..4], [0x4D, 0x3C, 0xB2, 0xA1], "pcap's nanosecond magic");
    let text = tcpdump(&file);
    assert!(text.contains("10.78.1.1 > 10.78.1.2: ICMP echo request"), "{text}");
    assert!(text.contains("10.78.1.2 > 10.78.1.1: ICMP echo reply"), "{text}");
    // Nothing matches this filter: only --duration ends the capture, with a whole file.
    let quiet = lab.dir.join("quiet.pcapng");
    let args = ["a:eth0", "-w", quiet.to_str().unwrap(), "-f", "tcp port 7", "--duration", "1s"];
    let (mut child, _, _) = start_capture(&lab, &args, Stdio::null());
    assert_eq!(wait_bounded(&mut child), 0);
    let p = parse(&std::fs::read(&quiet).unwrap());
    assert_eq!((p.ifaces.len(), p.packets.len()), (1, 0));
}

#[test]
fn packets_the_kernel_drops_for_a_stalled_reader_are_counted() {
    if !root_or_skip("capture-drops") {
        return;
    }
    let lab = TestLab::new("capd");
    lab.write(TWO_LINKS);
    lab.up();
    // Nobody reads stdout while 20000 echoes and their replies go by: the pipe fills, netlab
    // blocks writing, and the socket's queue overflows.
    let (mut child, _, stderr) = start_capture(&lab, &["a:eth0", "-f", "icmp"], Stdio::piped());
    let ping = lab.exec("a", &["ping", "-q", "-f", "-c", "20000", "-W1", "10.78.0.2"]);
    assert_eq!(ping.code, 0, "{ping:?}");
    // "20000 packets transmitted, N received, ...": the echoes, and the replies that came.
    let replies: u64 = ping
        .stdout
        .split("transmitted, ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {ping:?}"));
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        stdout.read_to_end(&mut b).unwrap();
        b
    });
    sigint(&child);
    assert_eq!(wait_bounded(&mut child), 0);
    let p = parse(&reader.join().unwrap());
    let said = stderr.join().unwrap();
    let dropped: u64 = said
        .split(", ")
        .nth(1)
        .and_then(|s| s.strip_suffix(" dropped by the kernel (written too slowly)\n"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no drops reported: {said}"));
    assert!(dropped > 0);
    assert!(said.starts_with(&format!("netlab: {} packets captured, ", p.packets.len())), "{said}");
    assert_eq!(
        p.packets.len() as u64 + dropped,
        20_000 + replies,
        "every echo and reply is written or counted"
    );
}
