//! Where a room lives: the partition Kafka's own key partitioner gives its
//! key. That is the Java client's murmur2 (`Utils.toPositive(murmur2(key)) %
//! partitions`), which librdkafka calls `murmur2_random` and our producer is
//! configured with, so any producer writing key = room with the standard
//! partitioner writes into the room's stream, and history reads look there.

/// The partition of `room` among `partitions`.
pub fn partition_for(room: &str, partitions: i32) -> i32 {
    let hash = murmur2::murmur2(room.as_bytes(), murmur2::KAFKA_SEED) & 0x7fff_ffff;
    // `hash` < 2^31 and `partitions` ≥ 1, so the remainder fits an i32.
    (hash % partitions.max(1).unsigned_abs()) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kafka's `UtilsTest.testMurmur2` vectors: the hash as the Java client computes it.
    #[test]
    fn hashes_keys_like_the_java_client() {
        let cases: [(&str, i32); 6] = [
            ("21", -973_932_308),
            ("foobar", -790_332_482),
            ("a-little-bit-long-string", -985_981_536),
            ("a-little-bit-longer-string", -1_486_304_829),
            ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971),
            ("abc", 479_470_107),
        ];
        for (key, java) in cases {
            assert_eq!(murmur2::murmur2(key.as_bytes(), murmur2::KAFKA_SEED) as i32, java, "{key}");
        }
    }

    #[test]
    fn places_rooms_by_the_positive_hash() {
        // -1853963692 & 0x7fffffff = 293519956; % 3 = 1.
        assert_eq!(partition_for("anonymous-anime-universe", 3), 1);
        assert_eq!(partition_for("abc", 2), 1);
        assert_eq!(partition_for("lobby", 1), 0);
    }
}
