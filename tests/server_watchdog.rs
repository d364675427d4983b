//! `Guard::Watchdog` (unix; the guard of macOS and the BSDs, tested here on
//! Linux): the watchdog stands between the owner and the server, forwards
//! SIGTERM, exits with the server's status so the supervisor sees the real
//! crash, never outlives the server, and its life pipe's write end is held
//! by the owner alone.
#![cfg(target_os = "linux")]

mod server_support;

use std::collections::HashSet;
use std::time::Duration;

use redkeep::{ensure_server, Guard, LocalServer, RestartPolicy, ServerConfig, ServerStatus};
use server_support::{pid_alive, signal, wait_dead};

fn watchdog_config(max_restarts: u32) -> ServerConfig {
    ServerConfig {
        guard: Guard::Watchdog,
        restart: RestartPolicy {
            max_restarts,
            ..RestartPolicy::default()
        },
        ..ServerConfig::tcp(0)
    }
}

fn parent(pid: u32) -> u32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let rest = stat.rsplit_once(')').expect("comm").1;
    rest.split_whitespace()
        .nth(1)
        .expect("ppid")
        .parse()
        .expect("ppid")
}

async fn failed(server: &LocalServer) -> String {
    let mut rx = server.watch();
    let status = tokio::time::timeout(
        Duration::from_secs(5),
        rx.wait_for(|s| matches!(s, ServerStatus::Failed { .. })),
    )
    .await
    .expect("the supervisor gives up within 5 s")
    .expect("watch")
    .clone();
    let ServerStatus::Failed { reason } = status else {
        unreachable!()
    };
    reason
}

#[tokio::test]
async fn the_server_runs_under_a_watchdog_that_relays_its_death() {
    let server = ensure_server(watchdog_config(0)).await.expect("spawn");
    let pid = server.pid().expect("pid");
    let watchdog = parent(pid);
    assert_ne!(watchdog, std::process::id(), "the server is not our child");
    assert_eq!(parent(watchdog), std::process::id(), "its watchdog is");
    signal(pid, "KILL");
    let reason = failed(&server).await;
    // The watchdog re-raised the server's signal: the supervisor saw the
    // SIGKILL, not a watchdog's own exit.
    assert!(reason.contains("SIGKILL"), "{reason}");
    assert!(
        wait_dead(watchdog, Duration::from_secs(1)).is_some(),
        "the watchdog never outlives the server"
    );
}

#[tokio::test]
async fn sigterm_to_the_watchdog_is_forwarded_and_the_exit_code_relayed() {
    let server = ensure_server(watchdog_config(0)).await.expect("spawn");
    let pid = server.pid().expect("pid");
    let watchdog = parent(pid);
    signal(watchdog, "TERM");
    let reason = failed(&server).await;
    // redis-server exits 0 on SIGTERM; the watchdog exits with that code.
    assert!(reason.contains("exit status: 0"), "{reason}");
    assert!(!pid_alive(pid) && !pid_alive(watchdog));
}

#[tokio::test]
async fn a_killed_server_is_restarted_under_a_new_watchdog() {
    let server = ensure_server(watchdog_config(2)).await.expect("spawn");
    let first = server.pid().expect("pid");
    let mut rx = server.watch();
    signal(first, "KILL");
    let status = tokio::time::timeout(
        Duration::from_secs(5),
        rx.wait_for(|s| matches!(s, ServerStatus::Running { pid } if *pid != first)),
    )
    .await
    .expect("restarted within 5 s")
    .expect("watch")
    .clone();
    let ServerStatus::Running { pid: second } = status else {
        unreachable!()
    };
    assert_eq!(parent(parent(second)), std::process::id());
    let watchdog = parent(second);
    server.shutdown().await.expect("shutdown");
    assert!(!pid_alive(second) && !pid_alive(watchdog));
}

#[tokio::test]
async fn a_missing_binary_is_a_clear_error() {
    // Executable (the lookup passes) but not a program: `execve` fails in
    // the server's process, and the watchdog reports the errno.
    let dir = std::env::temp_dir().join(format!("redkeep-wd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let fake = dir.join("redis-server");
    std::fs::write(&fake, "not a program").expect("write");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let e = ensure_server(ServerConfig {
        binary: Some(fake.clone()),
        ..watchdog_config(0)
    })
    .await
    .expect_err("cannot execute");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(e.message().contains("cannot execute"), "{e}");
    assert!(e.message().contains("ServerConfig::binary"), "{e}");
}

/// Pipe inodes `pid` holds open for writing (`/proc/PID/fdinfo` flags).
fn pipe_write_ends(pid: u32) -> HashSet<String> {
    let mut out = HashSet::new();
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return out;
    };
    for fd in fds.flatten() {
        let Ok(target) = std::fs::read_link(fd.path()) else {
            continue;
        };
        let target = target.to_string_lossy().into_owned();
        if !target.starts_with("pipe:") {
            continue;
        }
        let info = std::fs::read_to_string(format!(
            "/proc/{pid}/fdinfo/{}",
            fd.file_name().to_string_lossy()
        ))
        .unwrap_or_default();
        let flags = info
            .lines()
            .find_map(|l| l.strip_prefix("flags:"))
            .and_then(|f| u32::from_str_radix(f.trim(), 8).ok())
            .unwrap_or(0);
        if flags & libc_accmode() != 0 {
            out.insert(target);
        }
    }
    out
}

/// `O_WRONLY | O_RDWR`: any write access.
fn libc_accmode() -> u32 {
    0o3
}

#[tokio::test]
async fn only_the_owner_holds_the_life_pipes() {
    // Write ends this process got from its own parent (a build tool's
    // jobserver, say) are not ours to judge.
    let inherited = pipe_write_ends(std::process::id());
    let a = ensure_server(watchdog_config(0)).await.expect("spawn a");
    let b = ensure_server(watchdog_config(0)).await.expect("spawn b");
    let mut other = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .expect("sleep");
    let ours: HashSet<String> = pipe_write_ends(std::process::id())
        .difference(&inherited)
        .cloned()
        .collect();
    assert!(!ours.is_empty(), "the owner holds its life pipes");
    let (sa, sb) = (a.pid().expect("a"), b.pid().expect("b"));
    for (what, pid) in [
        ("server a", sa),
        ("watchdog a", parent(sa)),
        ("server b", sb),
        ("watchdog b", parent(sb)),
        ("another child", other.id()),
    ] {
        let shared: Vec<_> = pipe_write_ends(pid).intersection(&ours).cloned().collect();
        assert!(
            shared.is_empty(),
            "{what} ({pid}) holds write ends of the owner's pipes: {shared:?}"
        );
    }
    let _ = other.kill();
    let _ = other.wait();
    a.shutdown().await.expect("a");
    b.shutdown().await.expect("b");
}
