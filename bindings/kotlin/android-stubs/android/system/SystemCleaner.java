package android.system;

import java.lang.ref.Cleaner;

/** Compile-only stub of {@code android.system.SystemCleaner} (API 33; see ../../README.md). */
public final class SystemCleaner {
    private SystemCleaner() {
        throw new RuntimeException("Stub!");
    }

    /** The shared system cleaner. */
    public static Cleaner cleaner() {
        throw new RuntimeException("Stub!");
    }
}
