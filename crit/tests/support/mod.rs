//! What the tests that dump a live process share.

/// Waits until `pid` sits in `nanosleep`: a dump taken while the dynamic loader is still writing
/// the new image's pages would see the second dump differ from the first.
pub fn wait_until_asleep(pid: u32) {
    let wchan = format!("/proc/{pid}/wchan");
    for _ in 0..1000 {
        if std::fs::read_to_string(&wchan).is_ok_and(|w| w.contains("nanosleep")) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("{wchan} never showed nanosleep: the target did not settle in 10 s");
}
