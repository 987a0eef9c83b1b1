//! Plain old data: types whose every bit pattern is a valid value, so map keys and values
//! can be copied to and from the kernel's bytes without parsing.

/// A plain-old-data type: `Copy`, `'static`, no padding bytes, no invalid bit patterns
/// (no `bool`, `char`, references, enums or niches), and `#[repr(C)]` or
/// `#[repr(transparent)]` if it is a struct.
///
/// # Safety
///
/// Implementors promise that every byte pattern of `size_of::<Self>()` bytes is a valid
/// `Self` and that `Self` has no padding (so viewing a value as bytes reads only
/// initialised memory).
pub unsafe trait Pod: Copy + 'static {}

macro_rules! pod {
    ($($t:ty),*) => {
        $(
            // SAFETY: primitive integers and floats have no padding and no invalid values.
            unsafe impl Pod for $t {}
        )*
    };
}

pod!(
    u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64
);

// SAFETY: an array of Pod elements has no padding between elements (size is a multiple of
// alignment) and every element pattern is valid, so every array pattern is valid.
unsafe impl<T: Pod, const N: usize> Pod for [T; N] {}

/// Implements [`Pod`] for a `#[repr(C)]` type whose layout is asserted at compile time
/// (what `oxbpf-gen` emits after its `size_of`/`align_of`/`offset_of!` assertions), so
/// crates that forbid `unsafe` can still mark generated types as plain old data.
///
/// Only for structs whose fields are all `Pod`, with explicit padding fields (no implicit
/// padding bytes) and no invalid bit patterns; the generated layout assertions are what
/// make that promise checkable.
#[macro_export]
macro_rules! impl_pod {
    ($($t:ty),+ $(,)?) => {
        $(
            // SAFETY: the caller (generated code) uses this only for `#[repr(C)]` types
            // whose fields are all `Pod` and whose padding is spelled out as byte-array
            // fields, with size, alignment and every offset asserted at compile time, so
            // every byte is a field byte and every bit pattern is valid.
            unsafe impl $crate::pod::Pod for $t {}
        )+
    };
}

/// The bytes of a value.
pub fn bytes_of<T: Pod>(v: &T) -> &[u8] {
    // SAFETY: `v` is a live reference to `size_of::<T>()` bytes; `T: Pod` has no padding,
    // so every byte is initialised; the slice borrows `v` for its lifetime.
    unsafe { std::slice::from_raw_parts((v as *const T).cast::<u8>(), std::mem::size_of::<T>()) }
}

/// The bytes of a value, writable: any bytes written leave a valid `T`.
pub fn bytes_of_mut<T: Pod>(v: &mut T) -> &mut [u8] {
    // SAFETY: `v` is a unique live reference to `size_of::<T>()` initialised bytes; any
    // byte pattern written through the slice is a valid `T` (`T: Pod`).
    unsafe { std::slice::from_raw_parts_mut((v as *mut T).cast::<u8>(), std::mem::size_of::<T>()) }
}

/// Reads a `T` from exactly `size_of::<T>()` bytes (any alignment); `None` on a length
/// mismatch.
pub fn from_bytes<T: Pod>(b: &[u8]) -> Option<T> {
    if b.len() != std::mem::size_of::<T>() {
        return None;
    }
    // SAFETY: the length was checked to be exactly `size_of::<T>()`; `read_unaligned`
    // needs no alignment; every bit pattern is a valid `T` (`T: Pod`).
    Some(unsafe { std::ptr::read_unaligned(b.as_ptr().cast::<T>()) })
}

/// A `T` of all-zero bytes.
pub fn zeroed<T: Pod>() -> T {
    // SAFETY: the all-zero pattern is one of the patterns `T: Pod` promises are valid.
    unsafe { std::mem::zeroed() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_integers_and_arrays() {
        let v: [u32; 3] = [1, 0xdead_beef, 7];
        let b = bytes_of(&v).to_vec();
        assert_eq!(b.len(), 12);
        assert_eq!(from_bytes::<[u32; 3]>(&b), Some(v));
        assert_eq!(from_bytes::<u64>(&42u64.to_ne_bytes()), Some(42));
    }

    #[test]
    fn rejects_wrong_length() {
        assert_eq!(from_bytes::<u32>(&[1, 2, 3]), None);
        assert_eq!(from_bytes::<u32>(&[1, 2, 3, 4, 5]), None);
        assert_eq!(from_bytes::<u32>(&[]), None);
    }

    #[test]
    fn reads_unaligned_bytes() {
        let buf = [0u8, 1, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            from_bytes::<u64>(&buf[1..]),
            Some(u64::from_ne_bytes([1, 0, 0, 0, 0, 0, 0, 0]))
        );
    }

    #[test]
    fn writes_through_bytes_of_mut() {
        let mut v = 0u32;
        bytes_of_mut(&mut v).copy_from_slice(&9u32.to_ne_bytes());
        assert_eq!(v, 9);
        assert_eq!(zeroed::<[u64; 2]>(), [0, 0]);
    }
}
