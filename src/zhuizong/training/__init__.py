"""Training sessions and attendance (培训班与培训签到): services and the tracking signal."""
