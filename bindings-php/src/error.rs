//! kpipe::Error -> PHP exceptions. `Kpipe\Exception\KpipeException` (a `RuntimeException`) and
//! one subclass per code family are registered at module startup from the core's code list
//! (`kpipe::Code::families`), so no second list lives here. The message is the core's
//! `Display` text, identical in every binding; the details record is kept in protected
//! properties read by `getErrorCode()`, `isRetriable()`, `getDetails()`, ...

use std::ffi::{c_char, CString};

use ext_php_rs::builders::{ClassBuilder, ClassProperty, FunctionBuilder};
use ext_php_rs::convert::IntoZval;
use ext_php_rs::exception::PhpException;
use ext_php_rs::ffi::{zend_class_entry, zend_object, zval};
use ext_php_rs::flags::{DataType, MethodFlags, PropertyFlags};
use ext_php_rs::types::{ZendHashTable, ZendObject, Zval};
use ext_php_rs::zend::{ClassEntry, ExecuteData};

pub const BASE: &str = "Kpipe\\Exception\\KpipeException";

unsafe extern "C" {
    fn zend_update_property(
        scope: *mut zend_class_entry,
        object: *mut zend_object,
        name: *const c_char,
        name_length: usize,
        value: *mut zval,
    );
}

/// A class by name, without autoloading; also during module startup.
pub fn find_class(name: &str) -> Option<&'static ClassEntry> {
    // NTS PHP (Debian's): the compiler globals are a plain static
    let table = unsafe { ext_php_rs::ffi::compiler_globals.class_table };
    if table.is_null() {
        return None;
    }
    let ptr = unsafe {
        ext_php_rs::ffi::zend_hash_str_find_ptr_lc(table, name.as_ptr().cast(), name.len())
    };
    unsafe { (ptr as *const ClassEntry).as_ref() }
}

fn class_of_family(family: &str) -> String {
    format!("Kpipe\\Exception\\{family}Exception")
}

/// (property, accessor, PHP type, nullable)
const FIELDS: &[(&str, &str, DataType, bool)] = &[
    ("errorCode", "getErrorCode", DataType::String, false),
    ("retriable", "isRetriable", DataType::Bool, false),
    ("fatal", "isFatal", DataType::Bool, false),
    ("field", "getField", DataType::String, true),
    ("cluster", "getCluster", DataType::String, true),
    ("topic", "getTopic", DataType::String, true),
    ("partition", "getPartition", DataType::Long, true),
    ("offset", "getOffset", DataType::Long, true),
    ("subject", "getSubject", DataType::String, true),
    ("schemaId", "getSchemaId", DataType::Long, true),
];

fn read_prop(ex: &mut ExecuteData, name: &str) -> Zval {
    let Some(this) = ex.get_self() else {
        return Zval::null();
    };
    let Some(base) = find_class(BASE) else {
        return Zval::null();
    };
    let mut rv = Zval::new();
    let p = unsafe {
        ext_php_rs::ffi::zend_read_property(
            std::ptr::from_ref(base).cast_mut(),
            std::ptr::from_mut(this),
            name.as_ptr().cast(),
            name.len(),
            true,
            &raw mut rv,
        )
    };
    match unsafe { p.as_ref() } {
        Some(z) => z.shallow_clone(),
        None => Zval::null(),
    }
}

macro_rules! getter {
    ($fn:ident, $prop:literal) => {
        extern "C" fn $fn(ex: &mut ExecuteData, retval: &mut Zval) {
            *retval = read_prop(ex, $prop);
        }
    };
}
getter!(get_error_code, "errorCode");
getter!(is_retriable, "retriable");
getter!(is_fatal, "fatal");
getter!(get_field, "field");
getter!(get_cluster, "cluster");
getter!(get_topic, "topic");
getter!(get_partition, "partition");
getter!(get_offset, "offset");
getter!(get_subject, "subject");
getter!(get_schema_id, "schemaId");

const HANDLERS: &[extern "C" fn(&mut ExecuteData, &mut Zval)] = &[
    get_error_code,
    is_retriable,
    is_fatal,
    get_field,
    get_cluster,
    get_topic,
    get_partition,
    get_offset,
    get_subject,
    get_schema_id,
];

/// The details record as an array: code, message, retriable, fatal and the detail fields
/// (schema_id spelled as in the core's record).
extern "C" fn get_details(ex: &mut ExecuteData, retval: &mut Zval) {
    let mut ht = ZendHashTable::new();
    let _ = ht.insert("code", read_prop(ex, "errorCode"));
    let _ = ht.insert("message", read_prop(ex, "message"));
    for (prop, _, _, _) in &FIELDS[1..] {
        let key = if *prop == "schemaId" { "schema_id" } else { prop };
        let _ = ht.insert(key, read_prop(ex, prop));
    }
    retval.set_hashtable(ht);
}

/// The engine points into the methods' argument tables for the life of the process.
fn keep(_: &'static mut ClassEntry, tables: ext_php_rs::args::ArgInfoTables) {
    std::mem::forget(tables);
}

/// Registers the exception classes (module startup).
pub fn register() -> ext_php_rs::error::Result<()> {
    fn runtime_exception() -> &'static ClassEntry {
        find_class("RuntimeException").unwrap_or_else(ext_php_rs::zend::ce::exception)
    }
    fn base() -> &'static ClassEntry {
        find_class(BASE).expect("KpipeException is registered first")
    }
    let mut b = ClassBuilder::new(BASE).extends((runtime_exception, "\\RuntimeException"));
    for ((prop, accessor, ty, nullable), handler) in FIELDS.iter().zip(HANDLERS) {
        b = b.property(ClassProperty {
            name: (*prop).to_string(),
            flags: PropertyFlags::Protected,
            default: None,
            docs: &[],
            ty: None,
            nullable: *nullable,
            readonly: false,
            default_stub: None,
        });
        b = b.method(
            FunctionBuilder::new(*accessor, *handler).returns(*ty, false, *nullable),
            MethodFlags::Public,
        );
    }
    b = b.method(
        FunctionBuilder::new("getDetails", get_details).returns(DataType::Array, false, false),
        MethodFlags::Public,
    );
    b.registration(keep).register()?;
    for family in kpipe::Code::families() {
        ClassBuilder::new(class_of_family(family))
            .extends((base, "\\Kpipe\\Exception\\KpipeException"))
            .registration(keep)
            .register()?;
    }
    Ok(())
}

fn set(obj: &mut ZendObject, scope: &ClassEntry, name: &str, v: impl IntoZval) {
    let Ok(mut z) = v.into_zval(false) else {
        return;
    };
    let Ok(cname) = CString::new(name) else {
        return;
    };
    unsafe {
        zend_update_property(
            std::ptr::from_ref(scope).cast_mut(),
            std::ptr::from_mut(obj),
            cname.as_ptr(),
            name.len(),
            &raw mut z,
        )
    };
}

/// The exception object of a details record (its family's class).
pub fn exception_zval(d: &kpipe::Details) -> Option<Zval> {
    let family = kpipe::Code::parse(d.code).map(kpipe::Code::family).unwrap_or("Internal");
    let ce = find_class(&class_of_family(family))?;
    let base = find_class(BASE)?;
    let mut obj = ZendObject::new(ce);
    set(&mut obj, base, "message", d.message.as_str());
    set(&mut obj, base, "errorCode", d.code);
    set(&mut obj, base, "retriable", d.retriable);
    set(&mut obj, base, "fatal", d.fatal);
    set(&mut obj, base, "field", d.field.clone());
    set(&mut obj, base, "cluster", d.cluster.clone());
    set(&mut obj, base, "topic", d.topic.clone());
    set(&mut obj, base, "partition", d.partition.map(i64::from));
    set(&mut obj, base, "offset", d.offset);
    set(&mut obj, base, "subject", d.subject.clone());
    set(&mut obj, base, "schemaId", d.schema_id.map(i64::from));
    obj.into_zval(false).ok()
}

/// The PHP exception of a details record.
pub fn from_details(d: &kpipe::Details) -> PhpException {
    match exception_zval(d) {
        Some(z) => PhpException::from_message(d.message.clone()).with_object(z),
        None => PhpException::from_message(d.message.clone()),
    }
}

/// The PHP exception of a core error.
pub fn php(e: kpipe::Error) -> PhpException {
    from_details(&e.details())
}

/// The exception object of a core error, as a value (sendMany's per-record results).
pub fn value(e: &kpipe::Error) -> Zval {
    exception_zval(&e.details()).unwrap_or_else(Zval::null)
}

/// A PHP `TypeError` (a wrong PHP type: the language's own error, not a kpipe code).
pub fn type_error(text: &str) -> PhpException {
    PhpException::new(text.to_string(), 0, ext_php_rs::zend::ce::type_error())
}

pub fn internal(reason: impl Into<String>) -> kpipe::Error {
    kpipe::Error::Internal { reason: reason.into() }
}

pub type R<T> = Result<T, PhpException>;

/// Runs `f`, turning a core error into its PHP exception and a panic into `internal`.
pub fn guard<T>(f: impl FnOnce() -> kpipe::Result<T>) -> R<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(php(e)),
        Err(_) => Err(php(internal("a kpipe call panicked"))),
    }
}
