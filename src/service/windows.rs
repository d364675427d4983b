//! Windows: the service control manager, through the `windows-service`
//! crate. `install` registers `redkeep.exe service run --name N ...` with
//! recovery actions (restarts, then give up); the SCM starts that, which
//! runs the same supervised server as `redkeep ensure`, reports
//! start-pending and stop-pending with wait hints, and writes Event Log
//! records (source `redkeep`) when the server starts, is restarted by the
//! supervisor, or is given up on. A stop is graceful (`SHUTDOWN`, then
//! termination after `--stop-timeout`).

use std::ffi::{OsStr, OsString};
use std::process::ExitCode;
use std::sync::OnceLock;
use std::time::Duration;

use windows_service::service::{
    ServiceAccess, ServiceAction, ServiceActionType, ServiceControl, ServiceControlAccept,
    ServiceErrorControl, ServiceExitCode, ServiceFailureActions, ServiceFailureResetPeriod,
    ServiceInfo, ServiceStartType, ServiceState, ServiceStatus, ServiceType,
};
use windows_service::service_control_handler::{self, ServiceControlHandlerResult};
use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};
use windows_service::{define_windows_service, service_dispatcher};

use super::windows_def::{scm_service, Event};
use super::Definition;

fn err(what: &str) -> impl Fn(windows_service::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

pub(crate) fn install(d: &Definition, dry_run: bool) -> Result<ExitCode, String> {
    let s = scm_service(d);
    if dry_run {
        println!("service {} ({})", s.name, s.display_name);
        println!(
            "  binary: {} {}",
            s.executable.display(),
            s.arguments.join(" ")
        );
        println!(
            "  start: automatic; recovery: restart after {:?}, then none; reset after {:?}",
            s.restarts, s.reset_period
        );
        println!("  stop wait hint: {:?}", s.stop_wait_hint);
        return Ok(ExitCode::SUCCESS);
    }
    let manager = ServiceManager::local_computer(
        None::<&str>,
        ServiceManagerAccess::CONNECT | ServiceManagerAccess::CREATE_SERVICE,
    )
    .map_err(err(
        "cannot open the service manager (run as Administrator)",
    ))?;
    let info = ServiceInfo {
        name: OsString::from(&s.name),
        display_name: OsString::from(&s.display_name),
        service_type: ServiceType::OWN_PROCESS,
        start_type: if s.auto_start {
            ServiceStartType::AutoStart
        } else {
            ServiceStartType::OnDemand
        },
        error_control: ServiceErrorControl::Normal,
        executable_path: s.executable.clone(),
        launch_arguments: s.arguments.iter().map(OsString::from).collect(),
        dependencies: vec![],
        account_name: None,
        account_password: None,
    };
    let service = manager
        .create_service(&info, ServiceAccess::CHANGE_CONFIG | ServiceAccess::START)
        .map_err(err("cannot create the service"))?;
    service
        .set_description(&s.description)
        .map_err(err("cannot set the description"))?;
    let actions = ServiceFailureActions {
        reset_period: ServiceFailureResetPeriod::After(s.reset_period),
        reboot_msg: None,
        command: None,
        actions: Some(
            s.restarts
                .iter()
                .map(|delay| ServiceAction {
                    action_type: ServiceActionType::Restart,
                    delay: *delay,
                })
                .chain(std::iter::once(ServiceAction {
                    action_type: ServiceActionType::None,
                    delay: Duration::ZERO,
                }))
                .collect(),
        ),
    };
    service
        .update_failure_actions(actions)
        .map_err(err("cannot set the recovery actions"))?;
    // A give-up (an exit with an error code, not a crash) also counts.
    service
        .set_failure_actions_on_non_crash_failures(true)
        .map_err(err("cannot set the recovery actions"))?;
    println!("redkeep: installed service {}", s.name);
    Ok(ExitCode::SUCCESS)
}

fn open(name: &str, access: ServiceAccess) -> Result<windows_service::service::Service, String> {
    let manager = ServiceManager::local_computer(None::<&str>, ServiceManagerAccess::CONNECT)
        .map_err(err("cannot open the service manager"))?;
    manager
        .open_service(name, access)
        .map_err(err("cannot open the service"))
}

pub(crate) fn uninstall(name: &str, _user: bool) -> Result<ExitCode, String> {
    let _ = control(name, false, "stop");
    let service = open(name, ServiceAccess::DELETE)?;
    service.delete().map_err(err("cannot delete the service"))?;
    println!("redkeep: removed service {name}");
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn control(name: &str, _user: bool, verb: &str) -> Result<ExitCode, String> {
    let service = open(
        name,
        ServiceAccess::QUERY_STATUS | ServiceAccess::START | ServiceAccess::STOP,
    )?;
    match verb {
        "start" => service
            .start(&[] as &[&OsStr])
            .map_err(err("cannot start the service"))?,
        "stop" => {
            service.stop().map_err(err("cannot stop the service"))?;
        }
        _ => {}
    }
    let status = service
        .query_status()
        .map_err(err("cannot query the service"))?;
    println!("redkeep: service {name}: {:?}", status.current_state);
    Ok(ExitCode::SUCCESS)
}

/// What the SCM-started process serves: its name and `ensure` arguments.
static RUN: OnceLock<(String, Vec<String>)> = OnceLock::new();

define_windows_service!(ffi_service_main, service_main);

/// `redkeep service run --name N ensure-options...`: hands the process to
/// the SCM's dispatcher, which calls [`service_main`].
pub(crate) fn run_service(name: &str, ensure: Vec<String>) -> Result<ExitCode, String> {
    let _ = RUN.set((name.to_owned(), ensure));
    service_dispatcher::start(name, ffi_service_main).map_err(err(
        "service run is started by the Windows service manager, not by hand",
    ))?;
    Ok(ExitCode::SUCCESS)
}

fn service_main(_arguments: Vec<OsString>) {
    let Some((name, ensure)) = RUN.get() else {
        return;
    };
    if let Err(e) = serve(name, ensure) {
        report(Event::GaveUp, &e);
    }
}

fn status(state: ServiceState, wait_hint: Duration, exit: u32, checkpoint: u32) -> ServiceStatus {
    ServiceStatus {
        service_type: ServiceType::OWN_PROCESS,
        current_state: state,
        controls_accepted: if state == ServiceState::Running {
            ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN
        } else {
            ServiceControlAccept::empty()
        },
        exit_code: if exit == 0 {
            ServiceExitCode::Win32(0)
        } else {
            ServiceExitCode::ServiceSpecific(exit)
        },
        checkpoint,
        wait_hint,
        process_id: None,
    }
}

fn serve(name: &str, ensure: &[String]) -> Result<(), String> {
    let options = match crate::parse(ensure.to_vec())? {
        crate::Parsed::Go(o) => o,
        crate::Parsed::Exit(_) => return Err("no service options".to_owned()),
    };
    let cfg = crate::server_config(&options);
    let stop_hint = cfg.stop_timeout + Duration::from_secs(5);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let handle = service_control_handler::register(name, move |control| match control {
        ServiceControl::Stop | ServiceControl::Shutdown => {
            let _ = stop_tx.send(true);
            ServiceControlHandlerResult::NoError
        }
        ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
        _ => ServiceControlHandlerResult::NotImplemented,
    })
    .map_err(err("cannot register the control handler"))?;
    let set = |s: ServiceStatus| {
        let _ = handle.set_service_status(s);
    };
    set(status(
        ServiceState::StartPending,
        cfg.ready_timeout + Duration::from_secs(5),
        0,
        1,
    ));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let outcome = runtime.block_on(async move {
        let server = match redkeep::ensure_server(cfg).await {
            Ok(s) => s,
            Err(e) => return Err(e.message_in(redkeep::Language::Cli)),
        };
        report(
            Event::Started,
            &format!("redis-server ready at {}", server.redacted_url()),
        );
        set(status(ServiceState::Running, Duration::ZERO, 0, 0));
        let mut watch = server.watch();
        let mut stop_rx = stop_rx;
        loop {
            tokio::select! {
                _ = stop_rx.changed() => break,
                changed = watch.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let now = watch.borrow_and_update().clone();
                    match now {
                        redkeep::ServerStatus::Running { pid } => {
                            report(Event::Restarted, &format!("redis-server restarted, pid {pid}"));
                        }
                        redkeep::ServerStatus::Failed { reason } => {
                            return Err(reason);
                        }
                        _ => {}
                    }
                }
            }
        }
        set(status(ServiceState::StopPending, stop_hint, 0, 1));
        server
            .shutdown()
            .await
            .map_err(|e| e.message_in(redkeep::Language::Cli))?;
        report(Event::Stopped, "redis-server stopped");
        Ok(())
    });
    match &outcome {
        Ok(()) => set(status(ServiceState::Stopped, Duration::ZERO, 0, 0)),
        // A service-specific exit code: the SCM applies its recovery actions.
        Err(_) => set(status(ServiceState::Stopped, Duration::ZERO, 1, 0)),
    }
    outcome
}

/// Writes an Event Log record (source `redkeep`; without a registered
/// message file, Event Viewer shows the text as the record's insertion
/// string).
fn report(event: Event, text: &str) {
    use windows_sys::Win32::System::EventLog::{
        DeregisterEventSource, RegisterEventSourceW, ReportEventW, EVENTLOG_ERROR_TYPE,
        EVENTLOG_INFORMATION_TYPE,
    };
    let source: Vec<u16> = "redkeep\0".encode_utf16().collect();
    let message: Vec<u16> = text.encode_utf16().chain(std::iter::once(0)).collect();
    // SAFETY: a null server name (this machine) and a NUL-terminated source
    // name; the handle is checked and released below.
    let handle = unsafe { RegisterEventSourceW(std::ptr::null(), source.as_ptr()) };
    if handle.is_null() {
        return;
    }
    let strings = [message.as_ptr()];
    let kind = if event.is_error() {
        EVENTLOG_ERROR_TYPE
    } else {
        EVENTLOG_INFORMATION_TYPE
    };
    // SAFETY: `handle` is a valid event source; `strings` holds one pointer
    // to a NUL-terminated string that outlives the call; no raw data.
    unsafe {
        ReportEventW(
            handle,
            kind,
            0,
            event.id(),
            std::ptr::null_mut(),
            1,
            0,
            strings.as_ptr(),
            std::ptr::null(),
        );
        DeregisterEventSource(handle);
    }
}
