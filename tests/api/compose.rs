//! No Docker engine runs on the development and CI machines, so the compose
//! file's wiring is checked by reading it.

use std::path::Path;

use serde_yaml::Value;

fn compose() -> Value {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docker-compose.yml"))
        .expect("docker-compose.yml exists");
    let mut compose: Value = serde_yaml::from_str(&text).expect("docker-compose.yml is valid YAML");
    compose.apply_merge().expect("YAML merge keys resolve");
    compose
}

fn service<'a>(compose: &'a Value, name: &str) -> &'a Value {
    compose["services"].get(name).unwrap_or_else(|| panic!("service {name} is defined"))
}

/// `environment` as `KEY=VALUE` strings, whether written as a list or a map.
fn environment(service: &Value) -> Vec<String> {
    match &service["environment"] {
        Value::Sequence(items) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        Value::Mapping(map) => map
            .iter()
            .map(|(k, v)| {
                let value = match v {
                    Value::String(s) => s.clone(),
                    other => serde_yaml::to_string(other).unwrap().trim().to_owned(),
                };
                format!("{}={value}", k.as_str().unwrap_or_default())
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn ports(service: &Value) -> Vec<String> {
    service["ports"]
        .as_sequence()
        .map(|ports| ports.iter().filter_map(|p| p.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

fn waits_for_healthy(service: &Value, dependency: &str) -> bool {
    service["depends_on"][dependency]["condition"].as_str() == Some("service_healthy")
}

#[test]
fn compose_wires_kafka_control_center_and_chat() {
    let compose = compose();
    let kafka = service(&compose, "kafka");
    let control_center = service(&compose, "control-center");
    let chat = service(&compose, "chat");

    assert!(kafka["image"].as_str().unwrap().starts_with("apache/kafka"), "official Apache Kafka image");
    let kafka_env = environment(kafka);
    assert!(kafka_env.iter().any(|e| e.starts_with("KAFKA_PROCESS_ROLES=") && e.contains("controller")), "KRaft");
    assert!(!kafka_env.iter().any(|e| e.contains("ZOOKEEPER")), "no ZooKeeper");
    let advertised = kafka_env.iter().find(|e| e.starts_with("KAFKA_ADVERTISED_LISTENERS=")).unwrap();
    assert!(advertised.contains("kafka:29092") && advertised.contains("localhost:9092"), "{advertised}");
    assert!(ports(kafka).iter().any(|p| p.ends_with("9092:9092")));

    assert!(ports(control_center).iter().any(|p| p.ends_with("9021:9021")));
    assert!(environment(control_center).contains(&"CONTROL_CENTER_BOOTSTRAP_SERVERS=kafka:29092".to_owned()));
    assert!(waits_for_healthy(control_center, "kafka"));

    let dockerfile = chat["build"]["dockerfile"].as_str().unwrap_or("Dockerfile");
    assert!(Path::new(env!("CARGO_MANIFEST_DIR")).join(dockerfile).is_file(), "{dockerfile} exists");
    let chat_env = environment(chat);
    assert!(chat_env.contains(&"KAFKA_BOOTSTRAP_SERVERS=kafka:29092".to_owned()), "{chat_env:?}");
    assert!(chat_env.contains(&"CHAT_ADDR=0.0.0.0:8003".to_owned()), "{chat_env:?}");
    assert!(ports(chat).iter().any(|p| p.ends_with("8003:8003")));
    assert!(waits_for_healthy(chat, "kafka"));

    for (name, service) in [("kafka", kafka), ("control-center", control_center), ("chat", chat)] {
        assert!(
            service["healthcheck"]["test"].is_sequence() || service["healthcheck"]["test"].is_string(),
            "{name} has a healthcheck"
        );
    }
    assert!(
        chat["healthcheck"]["test"]
            .as_sequence()
            .unwrap()
            .iter()
            .any(|t| t.as_str().is_some_and(|t| t.contains("/health"))),
        "chat's healthcheck asks /health"
    );
}

#[test]
fn behind_the_scale_profiles_nginx_the_instances_trust_only_nginx_and_share_the_identity_secret() {
    let compose = compose();
    let nginx = service(&compose, "nginx");
    let address = nginx["networks"]["default"]["ipv4_address"].as_str().expect("nginx has a fixed address");
    let subnet = compose["networks"]["default"]["ipam"]["config"][0]["subnet"].as_str().expect("a fixed subnet");
    let net: ipnet::IpNet = subnet.parse().expect("the subnet is a CIDR");
    assert!(net.contains(&address.parse::<std::net::IpAddr>().unwrap()), "{address} in {subnet}");
    for name in ["chat", "chat2"] {
        let env = environment(service(&compose, name));
        assert!(env.contains(&format!("CHAT_TRUSTED_PROXIES={address}/32")), "{name} trusts nginx alone: {env:?}");
        assert!(env.iter().any(|e| e.starts_with("CHAT_IDENTITY_SECRET=")), "{name} shares the identity secret");
    }
    let conf = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/nginx/chat.conf")).unwrap();
    for header in ["X-Forwarded-For $proxy_add_x_forwarded_for", "X-Forwarded-Proto $scheme", "Host $http_host"] {
        assert!(conf.contains(header), "nginx passes {header}");
    }
}
