package android.os;

/** Compile-only stub of {@code android.os.Build} (see ../../README.md). */
public class Build {
    private Build() {
        throw new RuntimeException("Stub!");
    }

    /** Compile-only stub of {@code android.os.Build.VERSION}. */
    public static class VERSION {
        private VERSION() {
            throw new RuntimeException("Stub!");
        }

        /** Not a compile-time constant, as on Android: callers must read it at run time. */
        public static final int SDK_INT = stubValue();
    }

    /** Compile-only stub of {@code android.os.Build.VERSION_CODES} (the codes the bindings use). */
    public static class VERSION_CODES {
        private VERSION_CODES() {
            throw new RuntimeException("Stub!");
        }

        /** Android 13. */
        public static final int TIRAMISU = 33;
        /** Android 14. */
        public static final int UPSIDE_DOWN_CAKE = 34;
    }

    private static int stubValue() {
        throw new RuntimeException("Stub!");
    }
}
