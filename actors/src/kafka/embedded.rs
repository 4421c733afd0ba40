//! The embedded Kafka: librdkafka's in-process mock cluster, for running the
//! server with nothing else installed. Memory only: everything is lost when
//! the process exits.

use std::sync::mpsc;
use std::thread;

use rdkafka::error::KafkaError;
use rdkafka::mocking::MockCluster;

use crate::settings::KafkaSettings;

/// Keeps the mock cluster alive; dropping it shuts the cluster down.
pub struct EmbeddedKafka {
    bootstrap_servers: String,
    // Dropping the sender wakes the cluster's thread, which then exits.
    _stop: mpsc::Sender<()>,
}

impl EmbeddedKafka {
    /// Starts the cluster on its own thread (it is not `Send`) with the chat
    /// topic already created.
    pub fn start(settings: &KafkaSettings) -> Result<Self, KafkaError> {
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let (brokers, topic, partitions) = (settings.embedded.brokers, settings.topic.clone(), settings.partitions);
        let side_topics: Vec<String> = settings.side_topics().into_iter().map(|(name, _)| name).collect();
        thread::Builder::new()
            .name("embedded-kafka".into())
            .spawn(move || {
                let cluster = MockCluster::new(brokers).and_then(|cluster| {
                    cluster.create_topic(&topic, partitions, 1)?;
                    for side in &side_topics {
                        cluster.create_topic(side, 1, 1)?;
                    }
                    Ok(cluster)
                });
                match cluster {
                    Ok(cluster) => {
                        let _ = ready_tx.send(Ok(cluster.bootstrap_servers()));
                        // Blocks until the owner drops its sender.
                        let _ = stop_rx.recv();
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            })
            .map_err(|_| KafkaError::Canceled)?;
        let bootstrap_servers = ready_rx.recv().map_err(|_| KafkaError::Canceled)??;
        Ok(Self { bootstrap_servers, _stop: stop_tx })
    }

    /// The mock cluster's address, usable by any Kafka client.
    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap_servers
    }
}
