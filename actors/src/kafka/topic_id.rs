//! The chat topic's id (KIP-516), which is our epoch: Kafka gives a topic a
//! new random id when it is created, so a deleted and recreated topic,
//! whose offsets start again from 0, never passes for the old one.
//!
//! rust-rdkafka does not wrap librdkafka's DescribeTopics yet, so this is the
//! one place that calls librdkafka directly. Blocking: run it off the actor
//! thread.

use std::ffi::{c_char, CStr, CString};
use std::time::Duration;

use rdkafka::bindings as rd;
use rdkafka::client::{Client, ClientContext};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};

/// The id of `topic`, in Kafka's URL-safe base64 (as `kafka-topics --describe` prints it).
pub fn topic_id<C: ClientContext>(client: &Client<C>, topic: &str, timeout: Duration) -> KafkaResult<String> {
    let name = CString::new(topic).map_err(|_| KafkaError::AdminOpCreation("topic name holds a NUL".into()))?;
    let timeout_ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    let rk = client.native_ptr();
    // SAFETY: every object created here is destroyed by its guard after the
    // event that refers to it; `rk` outlives the call (borrowed client).
    unsafe {
        let mut names = [name.as_ptr()];
        let topics = Guard(rd::rd_kafka_TopicCollection_of_topic_names(names.as_mut_ptr(), 1), |p| {
            rd::rd_kafka_TopicCollection_destroy(p)
        });
        let options =
            Guard(rd::rd_kafka_AdminOptions_new(rk, rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBETOPICS), |p| {
                rd::rd_kafka_AdminOptions_destroy(p)
            });
        let mut errstr = [0 as c_char; 256];
        rd::rd_kafka_AdminOptions_set_request_timeout(options.0, timeout_ms, errstr.as_mut_ptr(), errstr.len());
        let queue = Guard(rd::rd_kafka_queue_new(rk), |p| rd::rd_kafka_queue_destroy(p));
        rd::rd_kafka_DescribeTopics(rk, topics.0, options.0, queue.0);
        let event =
            Guard(rd::rd_kafka_queue_poll(queue.0, timeout_ms.saturating_add(1000)), |p| rd::rd_kafka_event_destroy(p));
        if event.0.is_null() {
            return Err(KafkaError::AdminOp(RDKafkaErrorCode::RequestTimedOut));
        }
        read_id(event.0)
    }
}

/// # Safety
/// `event` must be a live DescribeTopics result event.
unsafe fn read_id(event: *mut rd::rd_kafka_event_t) -> KafkaResult<String> {
    let error = rd::rd_kafka_event_error(event);
    if error != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
        return Err(KafkaError::AdminOp(error.into()));
    }
    let result = rd::rd_kafka_event_DescribeTopics_result(event);
    let mut count = 0;
    let descriptions = rd::rd_kafka_DescribeTopics_result_topics(result, &mut count);
    if result.is_null() || descriptions.is_null() || count == 0 {
        return Err(KafkaError::AdminOp(RDKafkaErrorCode::UnknownTopicOrPartition));
    }
    let description = *descriptions;
    let topic_error = rd::rd_kafka_TopicDescription_error(description);
    if !topic_error.is_null() {
        return Err(KafkaError::AdminOp(rd::rd_kafka_error_code(topic_error).into()));
    }
    let id = rd::rd_kafka_TopicDescription_topic_id(description);
    if id.is_null() {
        return Err(KafkaError::AdminOp(RDKafkaErrorCode::UnknownTopicId));
    }
    // The string lives inside the id, which lives as long as the event.
    Ok(url_safe(&CStr::from_ptr(rd::rd_kafka_Uuid_base64str(id)).to_string_lossy()))
}

/// librdkafka's id in standard base64, as Kafka's own tools print it:
/// URL-safe (an epoch goes into `?epoch=`, where `+` would read as a space).
fn url_safe(standard: &str) -> String {
    standard.trim_end_matches('=').replace('+', "-").replace('/', "_")
}

/// Destroys a librdkafka object when it goes out of scope.
struct Guard<T>(*mut T, unsafe fn(*mut T));

impl<T> Drop for Guard<T> {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: the pointer came from the matching constructor and is destroyed once.
            unsafe { (self.1)(self.0) }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_id_reads_as_kafkas_tools_print_it() {
        // librdkafka's rd_kafka_Uuid_base64str of the same 16 bytes Java's Uuid prints as the right side.
        assert_eq!(super::url_safe("+/8AAAAAAAAAAAAAAAAA/w"), "-_8AAAAAAAAAAAAAAAAA_w");
        assert_eq!(super::url_safe("AAAAAAAAAAAAAAAAAAAAAA=="), "AAAAAAAAAAAAAAAAAAAAAA");
    }
}
