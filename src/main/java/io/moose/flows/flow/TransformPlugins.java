package io.moose.flows.flow;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The jars in {@code moose-flows.transforms.path}, each in its own class loader that sees the
 * transform API ({@code io.moose.flows.api}), Jackson and the JDK, and nothing else of the service.
 * The folder is listed again on every look-up, so a jar dropped in while the node runs is found by
 * the next flow start; a jar replaced in place (new size or time) gets a new class loader, while a
 * flow already running keeps the instances it has until it is restarted (handoff, rolling restart).
 */
public final class TransformPlugins {

    /** Packages a plugin jar sees from the service, besides the JDK. */
    static final List<String> SHARED_PACKAGES = List.of("io.moose.flows.api.", "com.fasterxml.jackson.");

    /** A class found in one of the jars, and where. */
    public record Found(Class<?> type, Path jar) {
    }

    private record Loaded(FileTime modified, long size, URLClassLoader loader) {
    }

    private final Optional<Path> folder;
    private final ClassLoader shared;
    private final Map<Path, Loaded> loaders = new HashMap<>();

    /** @param folder the plugin folder; empty when none is configured (only the class path is searched) */
    public TransformPlugins(Optional<Path> folder) {
        this.folder = folder;
        this.shared = new SharedOnly(TransformPlugins.class.getClassLoader());
    }

    public Optional<Path> folder() {
        return folder;
    }

    /** The jars in the folder, by name; none when the folder is not configured or does not exist. */
    public List<Path> jars() {
        if (folder.isEmpty() || !Files.isDirectory(folder.get())) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(folder.get())) {
            return files.filter(p -> p.getFileName().toString().endsWith(".jar") && Files.isRegularFile(p)).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + folder.get(), e);
        }
    }

    /**
     * The class in the first jar (by file name) that has it; empty when none does.
     *
     * @throws LinkageError when a jar has the class but it cannot be defined (e.g. compiled for a newer Java)
     */
    public synchronized Optional<Found> find(String className) {
        String resource = className.replace('.', '/') + ".class";
        for (Path jar : jars()) {
            URLClassLoader loader = loaderOf(jar);
            if (loader.findResource(resource) == null) {
                continue;
            }
            try {
                return Optional.of(new Found(Class.forName(className, false, loader), jar));
            } catch (ClassNotFoundException e) {
                // listed but not loadable (e.g. in a nested folder of the jar): go on searching
            }
        }
        return Optional.empty();
    }

    private URLClassLoader loaderOf(Path jar) {
        FileTime modified;
        long size;
        try {
            modified = Files.getLastModifiedTime(jar);
            size = Files.size(jar);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + jar, e);
        }
        Loaded loaded = loaders.get(jar);
        if (loaded == null || !loaded.modified().equals(modified) || loaded.size() != size) {
            // The old loader is not closed: a running flow may still load classes through it.
            loaded = new Loaded(modified, size, new URLClassLoader("transforms:" + jar.getFileName(), new URL[]{url(jar)}, shared));
            loaders.put(jar, loaded);
        }
        return loaded.loader();
    }

    private static URL url(Path jar) {
        try {
            return jar.toUri().toURL();
        } catch (MalformedURLException e) {
            throw new IllegalArgumentException(jar.toString(), e);
        }
    }

    /** Parent of every plugin loader: the JDK, and the shared packages from the service. */
    private static final class SharedOnly extends ClassLoader {

        private final ClassLoader service;

        SharedOnly(ClassLoader service) {
            super("transforms-api", ClassLoader.getPlatformClassLoader());
            this.service = service;
        }

        private static boolean shared(String name) {
            String dotted = name.replace('/', '.');
            return SHARED_PACKAGES.stream().anyMatch(dotted::startsWith);
        }

        @Override
        protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
            if (shared(name)) {
                return service.loadClass(name);
            }
            return super.loadClass(name, resolve);
        }

        @Override
        public URL getResource(String name) {
            return shared(name) ? service.getResource(name) : super.getResource(name);
        }

        @Override
        public Enumeration<URL> getResources(String name) throws IOException {
            return shared(name) ? service.getResources(name) : super.getResources(name);
        }
    }

    /** The jars' names, for messages: {@code /transforms (a.jar, b.jar)} or why there are none. */
    public String describeSearched() {
        if (folder.isEmpty()) {
            return "no plugin folder is configured (moose-flows.transforms.path)";
        }
        List<Path> jars = jars();
        List<String> names = new ArrayList<>();
        jars.forEach(j -> names.add(j.getFileName().toString()));
        return "jars searched in " + folder.get() + " (moose-flows.transforms.path): "
                + (names.isEmpty() ? (Files.isDirectory(folder.get()) ? "none there" : "the folder does not exist")
                : String.join(", ", names));
    }
}
