//! Bad input gives a clear error quickly, never a hang, and never shows a
//! secret.

mod support;

use std::time::{Duration, Instant};

use redkeep::{redis, Config, ErrorKind, Phase, Pool};
use support::{closed_port, fast_config, within, NotRedis, NotRedisKind, RedisServer};

async fn connect_err(cfg: Config) -> (redkeep::Error, Duration) {
    let started = Instant::now();
    let err = within(Duration::from_secs(10), "Pool::connect", Pool::connect(cfg))
        .await
        .expect_err("connect should fail");
    (err, started.elapsed())
}

#[tokio::test]
async fn invalid_urls_are_config_errors() {
    for url in [
        "",
        "127.0.0.1:6379",
        "redis://",
        "redis://127.0.0.1:notaport",
        "redis://127.0.0.1:6379/notadb",
        "redis://127.0.0.1:99999",
        "redis:/127.0.0.1",
    ] {
        let err = Pool::new(Config::from_url(url)).expect_err(url);
        assert_eq!(err.kind(), ErrorKind::Config, "{url:?}: {err}");
        assert!(err.to_string().contains("URL"), "{url:?}: {err}");
        let (err, _) = connect_err(Config::from_url(url)).await;
        assert_eq!(err.kind(), ErrorKind::Config, "{url:?}: {err}");
    }
}

#[tokio::test]
async fn unknown_schemes_are_config_errors_that_name_the_accepted_ones() {
    for url in [
        "http://127.0.0.1:6379",
        "memcached://127.0.0.1:11211",
        "tcp://127.0.0.1:6379",
        "REDIS-ish://127.0.0.1",
    ] {
        let err = Config::from_url(url).validate().expect_err(url);
        assert_eq!(err.kind(), ErrorKind::Config, "{url:?}: {err}");
        assert!(err.to_string().contains("redis://"), "{url:?}: {err}");
        assert!(!err.is_retryable());
    }
}

#[tokio::test]
async fn out_of_range_settings_are_config_errors() {
    let url = "redis://127.0.0.1:6379";
    type Set = Box<dyn Fn(&mut Config)>;
    let cases: Vec<(&str, Set)> = vec![
        ("max_size", Box::new(|c| c.pool.max_size = 0)),
        ("multiplexed", Box::new(|c| c.pool.multiplexed = 0)),
        (
            "min_idle",
            Box::new(|c| c.pool.min_idle = c.pool.max_size + 1),
        ),
        (
            "timeouts.connect",
            Box::new(|c| c.timeouts.connect = Duration::ZERO),
        ),
        (
            "timeouts.wait",
            Box::new(|c| c.timeouts.wait = Duration::ZERO),
        ),
        (
            "timeouts.command",
            Box::new(|c| c.timeouts.command = Duration::ZERO),
        ),
        (
            "health.interval",
            Box::new(|c| c.health.interval = Duration::ZERO),
        ),
        (
            "health.timeout",
            Box::new(|c| c.health.timeout = Duration::ZERO),
        ),
        (
            "failures_before_down",
            Box::new(|c| c.health.failures_before_down = 0),
        ),
        (
            "backoff.initial",
            Box::new(|c| c.backoff.initial = Duration::ZERO),
        ),
        (
            "backoff.max",
            Box::new(|c| c.backoff.max = Duration::from_micros(1)),
        ),
        (
            "backoff.multiplier",
            Box::new(|c| c.backoff.multiplier = 0.5),
        ),
        (
            "backoff.multiplier",
            Box::new(|c| c.backoff.multiplier = f64::NAN),
        ),
        ("backoff.jitter", Box::new(|c| c.backoff.jitter = -0.1)),
    ];
    for (field, set) in cases {
        let mut cfg = Config::from_url(url);
        set(&mut cfg);
        let err = Pool::new(cfg.clone()).expect_err(field);
        assert_eq!(err.kind(), ErrorKind::Config, "{field}: {err}");
        let name = field.rsplit('.').next().unwrap();
        assert!(err.to_string().contains(name), "{field}: {err}");
        let (err, elapsed) = connect_err(cfg).await;
        assert_eq!(err.kind(), ErrorKind::Config, "{field}: {err}");
        assert!(elapsed < Duration::from_millis(100), "{field}: {elapsed:?}");
    }
}

#[tokio::test]
async fn a_bad_setting_is_named_in_the_callers_language() {
    use redkeep::{Language, Param};
    let mut cfg = Config::from_url("redis://127.0.0.1:6379");
    cfg.pool.max_size = 0;
    let built = Pool::new(cfg.clone()).expect_err("max_size 0");
    let (connected, _) = connect_err(cfg).await;
    for err in [built, connected] {
        assert_eq!(err.param(), Some(Param::PoolMaxSize), "{err}");
        assert_eq!(err.to_string(), "pool.max_size must be at least 1");
        for (language, name) in [
            (Language::C, "redkeep_pool_options.max_size"),
            (Language::Go, "Options.PoolSize"),
            (Language::Python, "max_connections="),
        ] {
            assert_eq!(
                err.message_in(language),
                format!("{name} must be at least 1")
            );
        }
    }
    let mut cfg = Config::from_url("redis://127.0.0.1:6379");
    cfg.backoff.initial = Duration::from_secs(5);
    let (err, _) = connect_err(cfg).await;
    assert_eq!(
        err.message_in(Language::Python),
        "retry_backoff_max= must be at least retry_backoff_min="
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_port_fails_fast_with_a_connection_error() {
    let mut cfg = fast_config(format!("redis://127.0.0.1:{}", closed_port()));
    cfg.timeouts.connect = Duration::from_secs(3);
    let (err, elapsed) = connect_err(cfg).await;
    assert_eq!(err.kind(), ErrorKind::Connection, "{err}");
    assert!(err.is_retryable());
    assert!(err.to_string().contains("refused"), "{err}");
    assert!(
        elapsed < Duration::from_millis(500),
        "a refused connect took {elapsed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_a_clear_authentication_error_without_the_password() {
    let server = RedisServer::with_password("right-horse-battery");
    let secret = "wrong-staple-9931";
    for url in [
        format!("redis://:{secret}@127.0.0.1:{}", server.port()),
        format!("redis://default:{secret}@127.0.0.1:{}", server.port()),
    ] {
        let (err, elapsed) = connect_err(fast_config(&url)).await;
        let shown = format!("{err} / {err:?}");
        assert_eq!(err.kind(), ErrorKind::Connection, "{shown}");
        assert!(shown.to_lowercase().contains("authentication"), "{shown}");
        assert!(!shown.contains(secret), "the password leaked: {shown}");
        assert!(
            !err.is_retryable(),
            "a wrong password will not get better: {shown}"
        );
        assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
    }

    // No password at all on a server that wants one.
    let (err, _) = connect_err(fast_config(server.url_without_password())).await;
    let shown = err.to_string();
    assert_eq!(err.kind(), ErrorKind::Connection, "{shown}");
    assert!(shown.contains("authentication failed"), "{shown}");
    assert!(!err.is_retryable(), "{shown}");

    // The right one works.
    let pool = Pool::connect(fast_config(server.url())).await.unwrap();
    let pong: String = pool.query(&redis::cmd("PING")).await.unwrap();
    assert_eq!(pong, "PONG");
    assert!(!format!("{pool:?}").contains("right-horse-battery"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_answers_http_is_a_clear_error_quickly() {
    let http = NotRedis::start(NotRedisKind::Http).await;
    let mut cfg = fast_config(http.url());
    cfg.timeouts.connect = Duration::from_secs(3);
    let (err, elapsed) = connect_err(cfg).await;
    let shown = err.to_string();
    assert_eq!(err.kind(), ErrorKind::Connection, "{shown}");
    assert!(
        shown.contains("Redis protocol") || shown.contains("not a Redis server"),
        "unclear: {shown}"
    );
    assert!(elapsed < Duration::from_secs(1), "took {elapsed:?}");
    assert!(http.accepted() >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_times_out_in_the_connect_phase() {
    let silent = NotRedis::start(NotRedisKind::Silent).await;
    let mut cfg = fast_config(silent.url());
    cfg.timeouts.connect = Duration::from_millis(400);
    let (err, elapsed) = connect_err(cfg).await;
    assert_eq!(err.kind(), ErrorKind::Timeout(Phase::Connect), "{err}");
    assert!(err.to_string().contains("connect"), "{err}");
    assert!(
        elapsed >= Duration::from_millis(350) && elapsed < Duration::from_millis(1400),
        "a 400 ms connect timeout fired after {elapsed:?}"
    );

    // The lazy pool and a checkout meet the same bound, never a hang.
    let mut cfg = fast_config(silent.url());
    cfg.timeouts.connect = Duration::from_millis(400);
    let pool = Pool::new(cfg).unwrap();
    let started = Instant::now();
    let err = within(Duration::from_secs(5), "get", pool.get())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Timeout(Phase::Connect) | ErrorKind::Unavailable
        ),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_millis(1400));
}

#[test]
fn secrets_never_show_in_debug_or_errors() {
    let secret = "p4ss-w0rd-shh";
    let urls = [
        format!("redis://user:{secret}@localhost:6379/2"),
        format!("redis://:{secret}@localhost"),
        format!("redis://{secret}@localhost"),
        format!("rediss://user:{secret}@localhost:6380"),
        format!("redis+unix:///tmp/redis.sock?db=1&pass={secret}"),
        format!("redis+unix:///tmp/redis.sock?user=u&pass={secret}&db=1"),
        format!("unix:///tmp/redis.sock?pass={secret}"),
        // Broken URLs still must not echo the password.
        format!("redis://user:{secret}@localhost:notaport"),
        format!("redis://user:{secret}@"),
        format!("redis://user:{secret}/x@localhost"),
        format!("redis://user:{secret}?x@localhost"),
        format!("http://user:{secret}@localhost"),
    ];
    for url in urls {
        let cfg = Config::from_url(&url);
        let debug = format!("{cfg:?}");
        assert!(!debug.contains(secret), "Debug of Config leaked: {debug}");
        let redacted = cfg.redacted_url();
        assert!(
            !redacted.contains(secret),
            "redacted_url leaked: {redacted}"
        );
        if let Err(err) = cfg.validate() {
            let shown = format!("{err} / {err:?}");
            assert!(!shown.contains(secret), "error leaked for {url:?}: {shown}");
        }
    }
}
