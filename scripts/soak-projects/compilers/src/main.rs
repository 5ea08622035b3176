fn main() { let _ = nalgebra::Vector3::new(1.0, 2.0, 3.0).norm(); }
