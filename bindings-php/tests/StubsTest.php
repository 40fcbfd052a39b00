<?php
// stubs/kpipe.php matches the loaded extension: loaded under another namespace, every class,
// public method (name, static, parameter names and optionality, return type) and property
// agrees with the extension's, and the stub names every class the extension has.
use PHPUnit\Framework\TestCase;

final class StubsTest extends TestCase
{
    private static bool $loaded = false;

    private static function load(): void
    {
        if (!self::$loaded) {
            $code = file_get_contents(__DIR__ . '/../stubs/kpipe.php');
            $code = preg_replace('/^namespace Kpipe/m', 'namespace KpipeStub', $code);
            eval('?>' . $code);
            self::$loaded = true;
        }
    }

    private static function shape(ReflectionClass $r, string $ns): array
    {
        $norm = fn(?ReflectionType $t) => $t === null ? 'mixed' : str_replace(['\\KpipeStub\\', 'KpipeStub\\'], ['\\Kpipe\\', 'Kpipe\\'], (string) $t);
        $methods = [];
        foreach ($r->getMethods(ReflectionMethod::IS_PUBLIC) as $m) {
            if ($m->getDeclaringClass()->getName() !== $r->getName() || $m->getName() === '__construct' && $m->getNumberOfParameters() === 0) {
                continue;
            }
            $methods[$m->getName()] = [$m->isStatic(), array_map(fn($p) => [$p->getName(), $p->isOptional()], $m->getParameters()), $norm($m->getReturnType())];
        }
        ksort($methods);
        $props = array_map(fn($p) => $p->getName(), array_filter($r->getProperties(), fn($p) => $p->getDeclaringClass()->getName() === $r->getName()));
        sort($props);
        $parent = $r->getParentClass() ? str_replace('KpipeStub\\', 'Kpipe\\', $r->getParentClass()->getName()) : null;
        $ifaces = $r->getInterfaceNames();
        sort($ifaces);
        return compact('methods', 'props', 'parent', 'ifaces');
    }

    public function testTheStubMatchesTheExtension(): void
    {
        self::load();
        $ext = array_values(array_filter(get_declared_classes(), fn($c) => str_starts_with($c, 'Kpipe\\')));
        $stub = array_values(array_filter(get_declared_classes(), fn($c) => str_starts_with($c, 'KpipeStub\\')));
        $names = array_map(fn($c) => substr($c, strlen('KpipeStub\\')), $stub);
        sort($names);
        $extNames = array_map(fn($c) => substr($c, strlen('Kpipe\\')), $ext);
        sort($extNames);
        $this->assertSame($extNames, $names, 'the same classes');
        foreach ($ext as $c) {
            $this->assertSame(self::shape(new ReflectionClass($c), 'Kpipe'), self::shape(new ReflectionClass('KpipeStub\\' . substr($c, 6)), 'KpipeStub'), $c);
        }
    }
}
