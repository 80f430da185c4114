package io.moose.flows.testing;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

/**
 * Builds users' transform jars in a test, as {@code mvn package} of examples/transform-starter would:
 * Java sources compiled (with {@code -parameters}, for Java 17) against the test's class path, the
 * classes put in a jar. The jar holds only those classes, as a plugin jar should.
 */
public final class TransformJars {

    private TransformJars() {
    }

    /** Compiles every {@code .java} file under {@code sourceRoot} into {@code jar}. */
    public static Path build(Path sourceRoot, Path jar) {
        try (Stream<Path> files = Files.walk(sourceRoot)) {
            return compile(files.filter(p -> p.toString().endsWith(".java")).toList(), jar);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Compiles {@code sources} (class name -> source text) into {@code jar}. */
    public static Path build(Map<String, String> sources, Path jar) {
        try {
            Path dir = Files.createTempDirectory("transform-src-");
            List<Path> files = new ArrayList<>();
            for (Map.Entry<String, String> e : sources.entrySet()) {
                Path file = dir.resolve(e.getKey().replace('.', '/') + ".java");
                Files.createDirectories(file.getParent());
                Files.writeString(file, e.getValue());
                files.add(file);
            }
            return compile(files, jar);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path compile(List<Path> sources, Path jar) throws IOException {
        Path classes = Files.createTempDirectory("transform-classes-");
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        List<String> args = new ArrayList<>(List.of("-d", classes.toString(), "-classpath", System.getProperty("java.class.path"),
                "--release", "17", "-parameters", "-proc:none"));
        sources.forEach(s -> args.add(s.toString()));
        ByteArrayOutputStream errors = new ByteArrayOutputStream();
        int status = javac.run(null, errors, errors, args.toArray(String[]::new));
        if (status != 0) {
            throw new IllegalStateException("javac failed:\n" + errors.toString(StandardCharsets.UTF_8));
        }
        Files.createDirectories(jar.toAbsolutePath().getParent());
        // Written beside the target and moved in, so a node listing the folder never sees half a jar.
        Path partial = jar.resolveSibling(jar.getFileName() + ".part");
        try (OutputStream out = Files.newOutputStream(partial); JarOutputStream jarOut = new JarOutputStream(out);
             Stream<Path> files = Files.walk(classes)) {
            for (Path file : files.filter(Files::isRegularFile).sorted().toList()) {
                jarOut.putNextEntry(new JarEntry(classes.relativize(file).toString().replace('\\', '/')));
                jarOut.write(Files.readAllBytes(file));
                jarOut.closeEntry();
            }
        }
        return Files.move(partial, jar, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }
}
