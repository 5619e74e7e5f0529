//! TLS to a PostgreSQL server, with libpq's `sslmode`s: a cluster of this test's own
//! (`.ci/postgres` with `CALPROV_PG_INSTANCE=tls`) that takes TLS connections only
//! (`hostssl`; `hostnossl` rejected), its certificate naming `localhost` only and signed by a
//! CA the test makes with the `openssl` tool. Every connection that succeeds is encrypted;
//! which ones succeed is what the modes and root certificates decide.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use postgres::{Client, NoTls};

use crate::support::*;

const INSTANCE: &str = "tls";
const PORT: &str = "54349";

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the openssl tool makes the test's certificates");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (`<name>.crt`, `<name>.key`) in `dir`.
fn make_ca(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.crt"),
            "-days",
            "2",
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
}

/// The server's key and certificate in `dir`, for `localhost` only, signed by CA `ca`.
fn make_server_cert(dir: &Path, ca: &str) {
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n\
         keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            &format!("{ca}.crt"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    );
}

/// Puts the certificate in the cluster's data directory and makes it take TLS only.
fn require_tls(admin: &mut Client, certs: &Path) {
    use std::os::unix::fs::{MetadataExt, PermissionsExt, chown};
    let data: String = admin
        .query_one("SELECT current_setting('data_directory')", &[])
        .unwrap()
        .get(0);
    let data = Path::new(&data);
    let owner = std::fs::metadata(data).unwrap().uid();
    for file in ["server.crt", "server.key"] {
        let target = data.join(file);
        std::fs::copy(certs.join(file), &target).unwrap();
        chown(&target, Some(owner), None).unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    std::fs::write(
        data.join("pg_hba.conf"),
        "local all all trust\n\
         hostssl all all 127.0.0.1/32 scram-sha-256\n\
         hostssl all all ::1/128 scram-sha-256\n\
         hostnossl all all 0.0.0.0/0 reject\n\
         hostnossl all all ::/0 reject\n",
    )
    .unwrap();
    // One statement per call: ALTER SYSTEM cannot run in a batch's transaction.
    admin.batch_execute("ALTER SYSTEM SET ssl = on").unwrap();
    admin.batch_execute("SELECT pg_reload_conf()").unwrap();
}

/// `calprov init --json` on `url` with `env`.
fn init(url: &str, env: &[(&str, &str)]) -> Output {
    run(&["--db", url, "init", "--json"], env)
}

fn refused(out: &Output, kind: &str, says: &str) {
    let text = text(out);
    assert_ne!(out.status.code(), Some(0), "connected: {text}");
    assert!(text.contains(kind), "not {kind}: {text}");
    assert!(text.contains(says), "does not say {says:?}: {text}");
}

#[test]
fn tls_modes_decide_which_servers_are_trusted_and_nothing_goes_unencrypted() {
    // Only where the PostgreSQL tests run (CI requires them).
    if PgDatabase::fresh("tls_probe").is_none() {
        return;
    }
    let (_server, admin_url) = PgCluster::start(INSTANCE, PORT);
    let certs = tempfile::tempdir().unwrap();
    make_ca(certs.path(), "ca");
    make_ca(certs.path(), "other_ca");
    make_server_cert(certs.path(), "ca");
    let ca = certs.path().join("ca.crt").to_string_lossy().into_owned();
    let other_ca = certs.path().join("other_ca.crt");
    // Through the cluster's socket (trust), which a previous run's TLS-only rules leave open.
    let socket =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../target/pg-{INSTANCE}/run"));
    let mut admin = postgres::Config::new()
        .host_path(&socket)
        .port(PORT.parse().unwrap())
        .user("calprov")
        .dbname("calprov")
        .connect(NoTls)
        .unwrap();
    require_tls(&mut admin, certs.path());
    drop(admin);

    let (base, database) = admin_url.rsplit_once('/').unwrap();
    let (credentials, _) = base.rsplit_once('@').unwrap();
    let at = |host: &str, options: &str| format!("{credentials}@{host}:{PORT}/{database}{options}");
    // No root certificate of the user's own leaks in.
    let home = tempfile::tempdir().unwrap();
    let home = home.path().to_str().unwrap();
    let env = [("HOME", home)];

    // Plain TCP is rejected now (the reload takes effect within moments).
    let plain = at("127.0.0.1", "?sslmode=disable");
    let waited = Instant::now();
    loop {
        let out = init(&plain, &env);
        if out.status.code() != Some(0) {
            refused(&out, "auth_refused", "no encryption");
            break;
        }
        assert!(
            waited.elapsed() < Duration::from_secs(20),
            "the server still takes plain connections"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // Encrypted without verification: libpq's default (prefer) and require.
    for url in [at("127.0.0.1", ""), at("127.0.0.1", "?sslmode=require")] {
        let out = init(&url, &env);
        assert_eq!(out.status.code(), Some(0), "{url}: {}", text(&out));
    }
    // verify-full: the chain and the name. The certificate names localhost, not the address.
    let full = |host: &str, root: &str| {
        at(
            host,
            &format!(
                "?sslmode=verify-full&sslrootcert={}",
                root.replace(' ', "%20")
            ),
        )
    };
    let trusted = init(&full("localhost", &ca), &env);
    assert_eq!(trusted.status.code(), Some(0), "{}", text(&trusted));
    let shown = stdout_json(&trusted)["data"]["path"].clone();
    assert_eq!(
        shown,
        format!("postgres://calprov@localhost:{PORT}/{database}?sslmode=verify-full"),
        "the URL shown names the mode, never the password"
    );
    refused(
        &init(&full("127.0.0.1", &ca), &env),
        "auth_refused",
        "certificate",
    );
    refused(
        &init(&full("localhost", other_ca.to_str().unwrap()), &env),
        "auth_refused",
        "certificate",
    );
    // verify-ca: the chain only.
    let chain_only = at("127.0.0.1", &format!("?sslmode=verify-ca&sslrootcert={ca}"));
    let out = init(&chain_only, &env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // require with a root certificate checks the chain too (libpq's rule).
    refused(
        &init(
            &at(
                "127.0.0.1",
                &format!("?sslmode=require&sslrootcert={}", other_ca.display()),
            ),
            &env,
        ),
        "auth_refused",
        "certificate",
    );
    // Verification without a root certificate is refused before anything is sent.
    let out = init(&at("localhost", "?sslmode=verify-full"), &env);
    assert_ne!(out.status.code(), Some(0));
    assert!(text(&out).contains("sslrootcert"), "{}", text(&out));
    // The environment's PGSSLMODE and PGSSLROOTCERT, as libpq reads them.
    let out = init(
        &at("localhost", ""),
        &[
            ("HOME", home),
            ("PGSSLMODE", "verify-full"),
            ("PGSSLROOTCERT", ca.as_str()),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = init(
        &at("127.0.0.1", ""),
        &[
            ("HOME", home),
            ("PGSSLMODE", "verify-full"),
            ("PGSSLROOTCERT", ca.as_str()),
        ],
    );
    refused(&out, "auth_refused", "certificate");
    // A Unix socket never carries TLS (as libpq): the mode is not applied there.
    let socket_host = socket.to_string_lossy().replace('/', "%2F");
    let out = init(
        &format!("postgres://calprov@{socket_host}:{PORT}/{database}"),
        &[("HOME", home), ("PGSSLMODE", "verify-full")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // Tracking over TLS: the whole path, not just the connection.
    let db = std::path::PathBuf::from(full("localhost", &ca));
    let dir = tempfile::tempdir().unwrap();
    let caltable = dir.path().join("obs_gacal");
    copy_dir(&testdata().join("sim_gacal"), &caltable);
    let caltable = caltable.to_string_lossy().into_owned();
    register(&db, "obs", &caltable, "GA", "40");
    let params = serde_json::json!({"vis": "/data/obs.ms", "caltable": caltable});
    let tracked = track_gaincal(&db, &caltable, &params.to_string(), &["--json"]);
    assert_eq!(
        stdout_json(&tracked)["data"]["result"]["outcome"],
        "tracked",
        "{}",
        text(&tracked)
    );
    for out in [&trusted, &tracked] {
        let password = credentials.rsplit_once(':').unwrap().1;
        assert!(!text(out).contains(password), "the password was printed");
    }
}
